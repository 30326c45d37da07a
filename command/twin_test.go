package command

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/pykv/pykv/internal/glob"
	"github.com/pykv/pykv/storage"
)

// memStore is the in-memory twin of the engine that drives this package's
// tests: a plain map with expiry against a clock the test moves. It follows
// the Store contract, not the engine's internals.
type memStore struct {
	mu    sync.Mutex
	now   time.Time
	m     map[string]memEntry
	used  map[string]time.Time // when each key was last written or read (OBJECT IDLETIME)
	err   error                // when set, every method fails with it
	stats storage.Stats
	// maxValue is the engine's max_value_size; newMemStore sets the
	// engine's default.
	maxValue int
}

type memEntry struct {
	v  []byte
	at int64         // absolute expiry in unix ms; 0 for none
	b  storage.Build // how v was built (OBJECT ENCODING)
}

// testEpoch is the twin's initial clock: a fixed instant, so that expiry
// arithmetic in the tests is exact.
var testEpoch = time.UnixMilli(1_700_000_000_000)

func newMemStore() *memStore {
	return &memStore{now: testEpoch, m: map[string]memEntry{}, used: map[string]time.Time{}, maxValue: 64 << 20}
}

func (m *memStore) advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}

func (m *memStore) nowMs() int64 { return m.now.UnixMilli() }

// live returns the entry of k, removing it first if it has expired.
func (m *memStore) live(k string) (memEntry, bool) {
	e, ok := m.m[k]
	if ok && e.at != 0 && e.at <= m.nowMs() {
		delete(m.m, k)
		m.stats.ExpiredKeys++
		return memEntry{}, false
	}
	return e, ok
}

// set writes k's entry, which counts as a use of k.
func (m *memStore) set(k string, e memEntry) {
	m.m[k] = e
	m.used[k] = m.now
}

func (m *memStore) Touch(keys ...[]byte) (int, error) {
	n, err := m.Exists(keys...)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if _, ok := m.m[string(k)]; ok {
			m.used[string(k)] = m.now
		}
	}
	return n, err
}

func (m *memStore) Peek(key []byte) ([]byte, error) {
	m.mu.Lock()
	used, had := m.used[string(key)]
	m.mu.Unlock()
	v, err := m.Get(key)
	m.mu.Lock()
	if had {
		m.used[string(key)] = used
	}
	m.mu.Unlock()
	return v, err
}

func (m *memStore) PeekBuilt(key []byte) ([]byte, storage.Build, error) {
	v, err := m.Peek(key)
	if err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return v, m.m[string(key)].b, nil
}

func (m *memStore) IdleTime(key []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if _, ok := m.live(string(key)); !ok {
		return 0, storage.ErrNotFound
	}
	return int64(m.now.Sub(m.used[string(key)]) / time.Second), nil
}

func (m *memStore) MaxValueSize() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxValue
}

func (m *memStore) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *memStore) Get(key []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	e, ok := m.live(string(key))
	if !ok {
		m.stats.KeyspaceMisses++
		return nil, storage.ErrNotFound
	}
	m.stats.KeyspaceHits++
	m.used[string(key)] = m.now
	return e.v, nil
}

func (m *memStore) Set(key, value []byte, opt storage.SetOptions) (storage.SetResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return storage.SetResult{}, m.err
	}
	k := string(key)
	old, existed := m.live(k)
	res := storage.SetResult{Existed: existed}
	if opt.Get && existed {
		res.Old = old.v
	}
	if (opt.NX && existed) || (opt.XX && !existed) {
		return res, nil
	}
	e := memEntry{v: clone(value), at: opt.ExpireAt, b: opt.Build}
	if opt.KeepTTL {
		e.at = old.at
	}
	m.set(k, e)
	res.Written = true
	return res, nil
}

func (m *memStore) GetDel(key []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	e, ok := m.live(string(key))
	if !ok {
		return nil, storage.ErrNotFound
	}
	delete(m.m, string(key))
	return e.v, nil
}

func (m *memStore) Del(keys ...[]byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	n := 0
	for _, k := range keys {
		if _, ok := m.live(string(k)); ok {
			delete(m.m, string(k))
			n++
		}
	}
	return n, nil
}

func (m *memStore) Exists(keys ...[]byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	n := 0
	for _, k := range keys {
		if _, ok := m.live(string(k)); ok {
			n++
		}
	}
	return n, nil
}

func (m *memStore) IncrBy(key []byte, delta int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	e, _ := m.live(string(key))
	var n int64
	if e.v != nil {
		var err error
		if n, err = strconv.ParseInt(string(e.v), 10, 64); err != nil {
			return 0, storage.ErrNotInteger
		}
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		return 0, storage.ErrOverflow
	}
	n += delta
	e.v, e.b = strconv.AppendInt(nil, n, 10), storage.BuiltByValue
	m.set(string(key), e)
	return n, nil
}

func (m *memStore) Expire(key []byte, atMs int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	e, ok := m.live(string(key))
	if !ok {
		return false, nil
	}
	if atMs <= m.nowMs() {
		delete(m.m, string(key))
		return true, nil
	}
	e.at = atMs
	m.set(string(key), e)
	return true, nil
}

func (m *memStore) Persist(key []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	e, ok := m.live(string(key))
	if !ok || e.at == 0 {
		return false, nil
	}
	e.at = 0
	m.set(string(key), e)
	return true, nil
}

func (m *memStore) PTTL(key []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	e, ok := m.live(string(key))
	switch {
	case !ok:
		return -2, nil
	case e.at == 0:
		return -1, nil
	}
	return e.at - m.nowMs(), nil
}

func (m *memStore) MGet(keys ...[]byte) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		if e, ok := m.live(string(k)); ok {
			vals[i] = e.v
			m.used[string(k)] = m.now
		}
	}
	return vals, nil
}

func (m *memStore) MSet(pairs ...[]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		m.set(string(pairs[i]), memEntry{v: clone(pairs[i+1])})
	}
	return nil
}

func (m *memStore) MSetNX(pairs ...[]byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if len(pairs[i+1]) > m.maxValue {
			return false, storage.ErrValueTooLarge
		}
		if _, ok := m.live(string(pairs[i])); ok {
			return false, nil
		}
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		m.set(string(pairs[i]), memEntry{v: clone(pairs[i+1])})
	}
	return true, nil
}

func (m *memStore) Update(key []byte, fn func(storage.Current) (storage.Change, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	k := string(key)
	e, ok := m.live(k)
	cur := storage.Current{Now: m.nowMs()}
	if ok {
		cur.Value, cur.Exists, cur.ExpireAt, cur.Build = e.v, true, e.at, e.b
	}
	ch, err := fn(cur)
	switch {
	case err == nil && !ch.Write && ch.Retag && ok:
		e.b = ch.Build
		m.m[k] = e
	case err != nil || !ch.Write:
		return err
	case ch.ExpireAt != 0 && ch.ExpireAt <= cur.Now:
		delete(m.m, k)
	case len(ch.Value) > m.maxValue:
		return storage.ErrValueTooLarge
	default:
		m.set(k, memEntry{v: clone(ch.Value), at: ch.ExpireAt, b: ch.Build})
	}
	return nil
}

// Scan walks the sorted live keys; the cursor is a position in that order.
// Like Redis, it takes count keys and then filters them by the pattern.
func (m *memStore) Scan(cursor uint64, match []byte, count int) (uint64, [][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, nil, m.err
	}
	var all []string
	for k := range m.m {
		if _, ok := m.live(k); ok {
			all = append(all, k)
		}
	}
	sort.Strings(all)
	if cursor >= uint64(len(all)) {
		return 0, [][]byte{}, nil
	}
	end := min(int(cursor)+count, len(all))
	keys := [][]byte{}
	for _, k := range all[cursor:end] {
		if len(match) == 0 || glob.Match(match, []byte(k)) {
			keys = append(keys, []byte(k))
		}
	}
	next := uint64(end)
	if end == len(all) {
		next = 0
	}
	return next, keys, nil
}

func (m *memStore) DBSize() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.m))
}

func (m *memStore) Stats() storage.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stats
	st.Keys = int64(len(m.m))
	for _, e := range m.m {
		if e.at != 0 {
			st.KeysWithTTL++
		}
	}
	return st
}

// plainStore hides memStore's GetDel: a Store with only the contract's
// methods.
type plainStore struct{ Store }

// The keyspace commands.

func (m *memStore) Rename(src, dst []byte, nx bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	e, ok := m.live(string(src))
	switch {
	case !ok:
		return false, storage.ErrNotFound
	case string(src) == string(dst):
		return !nx, nil
	}
	if _, exists := m.live(string(dst)); exists && nx {
		return false, nil
	}
	delete(m.m, string(src))
	m.set(string(dst), e)
	return true, nil
}

func (m *memStore) Copy(src, dst []byte, replace bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	e, ok := m.live(string(src))
	if !ok {
		return false, nil
	}
	if _, exists := m.live(string(dst)); exists && !replace {
		return false, nil
	}
	m.set(string(dst), memEntry{v: clone(e.v), at: e.at, b: e.b.Copied()})
	return true, nil
}

// Keys answers in sorted order, so that the tests' replies are fixed.
func (m *memStore) Keys(match []byte) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var all []string
	for k := range m.m {
		if _, ok := m.live(k); ok && (len(match) == 0 || glob.Match(match, []byte(k))) {
			all = append(all, k)
		}
	}
	sort.Strings(all)
	keys := make([][]byte, len(all))
	for i, k := range all {
		keys[i] = []byte(k)
	}
	return keys, nil
}

// RandomKey answers the least live key, so that the tests' replies are
// fixed.
func (m *memStore) RandomKey() ([]byte, error) {
	keys, err := m.Keys(nil)
	switch {
	case err != nil:
		return nil, err
	case len(keys) == 0:
		return nil, storage.ErrNotFound
	}
	return keys[0], nil
}

func (m *memStore) ExpireTime(key []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	e, ok := m.live(string(key))
	switch {
	case !ok:
		return -2, nil
	case e.at == 0:
		return -1, nil
	}
	return e.at, nil
}
