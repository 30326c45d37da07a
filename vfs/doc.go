// Package vfs is pykv's file-system seam: every file operation of the log
// (segment), the snapshot files (snapshot) and the engine (storage) goes
// through an FS, so that what the engine does to a disk can be replaced,
// watched and broken on purpose. It never interprets file contents.
//
// A program that embeds storage needs it for one field: storage.Options.FS.
// Left nil it is Default, the operating system. A test of the embedding
// program can pass NewMem() instead, to run the engine without a disk and
// then call Mem.Crash to see exactly what a power cut would have left; and
// it can wrap either in Inject to fail any chosen operation (an fsync that
// reports EIO, a write that meets ENOSPC) and check how the program copes.
// Any other FS, a wrapper that counts bytes or adds latency, say, is a type
// with the methods of FS and File.
//
// # Why the in-memory and injecting file systems are here
//
// pebble keeps its MemFS in vfs and puts error injection in vfs/errorfs.
// Here both stay in this package, and are public, because they are what
// an embedder's own tests want next to Default, and they are small: Mem is
// about 500 lines of the standard library, and Inject is a hook called
// before each operation, not pebble's language of injection rules. A second
// package would add an import to every test for no separation anyone
// needs. Should injection grow rules of its own, it moves to vfs/errorfs.
//
// # Durability model
//
// The contract of FS is the POSIX one that crash safety is built on: a
// file's bytes are durable after File.Sync (or File.SyncData), and a
// creation, rename or removal is durable after SyncDir of its directory.
// Mem keeps to exactly that and no more, so code that passes its crash
// tests does not rely on luck a real disk may not give.
//
// # Platforms
//
// Default uses fdatasync and fallocate on Linux. On darwin and the BSDs
// SyncData is Sync (on darwin Go's Sync is F_FULLFSYNC, which also flushes
// the drive's cache) and Preallocate extends the file with ftruncate, which
// reserves no blocks, so a full disk is met by a later write instead. Lock
// is flock(2) and FreeSpace is statfs(2) on Linux, darwin, FreeBSD and
// DragonFly. Elsewhere, Windows included, the package builds but Default's
// Lock and FreeSpace fail with an error wrapping errors.ErrUnsupported, so
// storage refuses to open a directory it could not keep to itself; Mem
// works on every platform.
package vfs
