package vfs_test

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/pykv/pykv/storage"
	"github.com/pykv/pykv/vfs"
)

// An embedding program runs the engine on an in-memory file system in its
// tests, and simulates a power cut between two runs: an acknowledged write
// (fsync = always, the default) survives it.
func ExampleNewMem() {
	fs := vfs.NewMem()
	db, err := storage.Open("/data", storage.Options{FS: fs})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := db.Set([]byte("greeting"), []byte("hello"), storage.SetOptions{}); err != nil {
		fmt.Println(err)
		return
	}

	fs.Crash() // the power goes: every unsynced byte is lost, every lock released
	db.Close() // frees the old DB's memory; its files are dead, so it writes nothing

	db, err = storage.Open("/data", storage.Options{FS: fs})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	v, err := db.Get([]byte("greeting"))
	fmt.Printf("%s %v\n", v, err)
	// Output: hello <nil>
}

// Inject fails a chosen operation: here every fsync of the file, as a disk
// that reports an I/O error would.
func ExampleInject() {
	fs := vfs.Inject(vfs.NewMem(), func(op vfs.Op, path string) error {
		if op == vfs.OpSync {
			return syscall.EIO
		}
		return nil
	})
	f, err := fs.Create("/log")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	_, werr := f.Write([]byte("record"))
	serr := f.Sync()
	fmt.Println(werr, errors.Is(serr, syscall.EIO))
	// Output: <nil> true
}
