package command

import "log/slog"

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: Redis 7.0's parse and
// errors; the stop is the daemon's (Config.Shutdown), the graceful one
// SIGTERM makes. Without SAVE nothing is merged first: pykv's log is
// durable as it is, and a merge only makes the files smaller. With SAVE
// a merge runs first, and its failure stops the shutdown unless FORCE.
// NOW and FORCE change nothing else (pykv waits for no follower). ABORT
// has nothing to abort: a pykv shutdown, once asked for, is under way.
// On success the connection closes without a reply, as Redis's does when
// the process exits.
func (t *Table) shutdown(s *Session, argv [][]byte) Reply {
	var save, nosave, force, abort, now bool
	for _, a := range argv[1:] {
		switch {
		case is(a, "NOSAVE"):
			nosave = true
		case is(a, "SAVE"):
			save = true
		case is(a, "NOW"):
			now = true
		case is(a, "FORCE"):
			force = true
		case is(a, "ABORT"):
			abort = true
		default:
			return errSyntax
		}
	}
	if abort && (save || nosave || now || force) || save && nosave {
		return errSyntax
	}
	if abort {
		return Err("No shutdown in progress.")
	}
	if t.cfg.Shutdown == nil {
		return Err("SHUTDOWN is not supported by this server")
	}
	if save {
		if r := t.save(s, nil); r.Kind == KindError {
			slog.Error("SHUTDOWN SAVE: the merge failed", "err", r.Msg, "force", force)
			if !force {
				return errShutdown
			}
		}
	}
	if err := t.cfg.Shutdown(); err != nil {
		slog.Error("SHUTDOWN refused", "err", err)
		return errShutdown
	}
	s.Drop = true
	return OK
}

var errShutdown = Err("Errors trying to SHUTDOWN. Check logs.")
