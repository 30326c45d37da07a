package index

// Loader puts entries into a Keydir in bulk, as start-up does from a
// snapshot's index. It holds the lock of the shard it last wrote to until a
// key of another shard comes, and publishes the shard's counts only then, so
// that a run of keys of one shard (a snapshot index in hash order, see
// Keydir.Hash) costs one lock and one publish rather than one per key.
// Other goroutines may use the Keydir meanwhile, but a writer of the held
// shard waits for the run to end: a Loader is for loading, not for serving.
// A Loader is not safe for concurrent use; give each goroutine its own.
type Loader struct {
	k *Keydir
	s *shard // held, or nil
}

// NewLoader returns a Loader for k. Call Close when done.
func (k *Keydir) NewLoader() *Loader { return &Loader{k: k} }

// Put sets key's entry, unless the key already has an entry with a higher
// Seq: the newer version wins whatever order loaders run in. It reports
// whether e was stored and, if it replaced an entry, that entry, so that
// a caller loading several files can count what each holds live. It
// panics if e.Offset exceeds MaxOffset.
func (l *Loader) Put(key []byte, e Entry) (old Entry, replaced, stored bool) {
	replaced, stored = l.PutRef(key, &e, &old)
	return old, replaced, stored
}

// PutRef is Put with the entries passed by reference, which a loader of
// millions of keys wants: an Entry passed or returned by value is copied
// on the stack on the way, with wide loads of narrow stores that the CPU
// cannot forward (a fifth of start-up's time in its per-key callback).
// It reads e and, if it replaces an entry, writes that entry into old;
// it keeps neither.
func (l *Loader) PutRef(key []byte, e, old *Entry) (replaced, stored bool) {
	checkOffset(e.Offset)
	checkTag(e.Tag)
	h := l.k.hash(key)
	s := l.k.shardFor(h)
	if s != l.s {
		l.release()
		s.mu.Lock()
		l.s = s
	}
	s.ensureChunkRoom()
	now := clockWord(l.k.lru.Load(), e.Tag) // loaded keys start fresh, as Redis's do from an RDB
	if g, j, ok := s.find(key, h); ok {
		if s.seqAt(g, j) > e.Seq {
			return false, false
		}
		*old = s.replace(g, j, key, *e, now, true)
		return true, true
	}
	s.add(key, h, e, now)
	return false, true
}

// Close publishes the counts of the shard held and releases it. The Loader
// may be used again after Close.
func (l *Loader) Close() { l.release() }

func (l *Loader) release() {
	if l.s != nil {
		l.s.publish()
		l.s.mu.Unlock()
		l.s = nil
	}
}

// Hash returns the hash k places key by: its top bits pick the shard, the
// bits below them the home group in the shard's table. Keys put in
// ascending hash order therefore fill each table front to back, which is
// why merges write a snapshot's index in this order.
func (k *Keydir) Hash(key []byte) uint64 { return k.hash(key) }
