package client

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/pykv/pykv/command"
)

// The commands, each built once here and run by the Client's method and
// queued by the Pipeline's method of the same name.

func cmdGet(key string) *Result[[]byte] {
	return newResult([][]byte{nameGet, []byte(key)}, nil, decodeBytes)
}

func cmdSet(key string, value any, a SetArgs) *Result[[]byte] {
	argv, err := a.argv(key, value)
	return newResult(argv, err, decodeSet)
}

// errNoKeys is the error of a multi-key command called without keys,
// caught before a round trip.
func errNoKeys(name string) error {
	return fmt.Errorf("pykv/client: %s needs at least one key", name)
}

func cmdKeys(name []byte, keys []string) *Result[int64] {
	var err error
	if len(keys) == 0 {
		err = errNoKeys(string(name))
	}
	return newResult(keyArgs(name, keys), err, decodeInt)
}

func cmdIncrBy(name []byte, key string, delta int64) *Result[int64] {
	return newResult([][]byte{name, []byte(key), strconv.AppendInt(nil, delta, 10)}, nil, decodeInt)
}

func cmdKey[T any](name []byte, key string, decode func(command.Reply) (T, error)) *Result[T] {
	return newResult([][]byte{name, []byte(key)}, nil, decode)
}

func cmdExpire(key string, ttl time.Duration, precise bool) *Result[bool] {
	return newResult(expiryArgs(key, ttl, precise), nil, decodeBool)
}

func cmdMGet(keys []string) *Result[[][]byte] {
	var err error
	if len(keys) == 0 {
		err = errNoKeys("MGET")
	}
	return newResult(keyArgs(nameMGet, keys), err, decodeValues)
}

func cmdMSet(pairs []any) *Result[string] {
	argv, err := msetArgs(pairs)
	return newResult(argv, err, decodeStatus)
}

// msetArgs accepts key, value, key, value... or a single map of keys to
// values (map[string]string, map[string][]byte or map[string]any), whose
// keys are sent in sorted order.
func msetArgs(pairs []any) ([][]byte, error) {
	if len(pairs) == 1 {
		switch m := pairs[0].(type) {
		case map[string]string:
			pairs = flatten(m)
		case map[string][]byte:
			pairs = flatten(m)
		case map[string]any:
			pairs = flatten(m)
		}
	}
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		return nil, errors.New("pykv/client: MSET needs key, value pairs")
	}
	argv := make([][]byte, 1+len(pairs))
	argv[0] = nameMSet
	for i, p := range pairs {
		if i%2 == 0 {
			if _, ok := p.(string); !ok {
				if _, ok := p.([]byte); !ok {
					return nil, fmt.Errorf("pykv/client: MSET key %d is a %T, not a string", i/2, p)
				}
			}
		}
		b, err := toArg(p)
		if err != nil {
			return nil, err
		}
		argv[1+i] = b
	}
	return argv, nil
}

func flatten[V any](m map[string]V) []any {
	pairs := make([]any, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		pairs = append(pairs, k, m[k])
	}
	return pairs
}

func cmdScan(cursor uint64, match string, count int64) *Result[ScanPage] {
	argv := [][]byte{nameScan, strconv.AppendUint(nil, cursor, 10)}
	if match != "" {
		argv = append(argv, []byte("MATCH"), []byte(match))
	}
	if count > 0 {
		argv = append(argv, []byte("COUNT"), strconv.AppendInt(nil, count, 10))
	}
	return newResult(argv, nil, decodeScan)
}

func cmdInfo(sections []string) *Result[string] {
	return newResult(keyArgs(nameInfo, sections), nil, decodeString)
}

func cmdDo(args []any) *Result[command.Reply] {
	argv, err := toArgs(args)
	if err == nil && (len(argv) == 0 || len(argv[0]) == 0) {
		err = errors.New("pykv/client: Do without a command name")
	}
	return newResult(argv, err, decodeReply)
}
