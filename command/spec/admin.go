package spec

// adminTable is the server commands of issue 16 (TIME, LASTSAVE, SAVE,
// BGSAVE, SHUTDOWN, MEMORY, MONITOR), with Redis 7.0's arities and those
// of its flags package spec has.
func adminTable() []*Command {
	return []*Command{
		{Name: "time", Arity: 1, Flags: FlagFast, Group: "server",
			Summary: "Return the server's time: unix seconds and microseconds."},
		{Name: "lastsave", Arity: 1, Flags: FlagFast, Group: "server",
			Summary: "Return the unix time of the last completed merge (pykv's save), or of the start."},
		{Name: "save", Arity: 1, Flags: FlagAdmin | FlagNoMulti, Group: "server",
			Summary: "Merge the log into a new snapshot now (pykv's save), replying once it is done."},
		{Name: "bgsave", Arity: -1, Flags: FlagAdmin, Group: "server",
			Summary: "Start a merge of the log into a new snapshot in the background (pykv's save).",
			Args:    "[SCHEDULE]"},
		{Name: "shutdown", Arity: -1, Flags: FlagAdmin | FlagNoMulti, Group: "server",
			Summary: "Stop the server as SIGTERM does, merging first with SAVE; the connection closes without a reply.",
			Args:    "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]"},
		{Name: "monitor", Arity: 1, Flags: FlagAdmin, Group: "server",
			Summary: "Stream every command the server runs, as Redis prints them."},
		{Name: "memory", Arity: -2, Group: "server",
			Summary: "Inspect memory use.",
			Args:    "<subcommand> [<arg> ...]",
			Subcommands: []*Command{
				{Name: "usage", Arity: -3, Flags: FlagReadOnly, Group: "server",
					FirstKey: 2, LastKey: 2, KeyStep: 1,
					Summary: "Return an estimate of the bytes a key and its value take in pykv's memory, or nil.",
					Args:    "key [SAMPLES count]"},
				{Name: "doctor", Arity: 2, Group: "server",
					Summary: "Return a report on memory problems."},
				{Name: "stats", Arity: 2, Group: "server",
					Summary: "Return memory statistics, as a map."},
				{Name: "malloc-stats", Arity: 2, Group: "server",
					Summary: "Return the allocator's statistics (none: Go's runtime is the allocator)."},
				{Name: "purge", Arity: 2, Group: "server",
					Summary: "Return freed memory to the operating system."},
				{Name: "help", Arity: 2, Group: "server",
					Summary: "List the MEMORY subcommands."},
			}},
	}
}
