package spec

// aclOrder is Redis 7.0's order of the ACL categories, the order COMMAND
// INFO lists a command's in (its acl.c table of categories).
var aclOrder = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting"}

// groupCategory is the ACL category Redis 7.0's command table gives the
// commands of a documentation group, unless aclCategoryTable says
// otherwise; the server group has none.
var groupCategory = map[string]string{
	"string": "string", "bitmap": "bitmap", "generic": "keyspace",
	"connection": "connection", "transactions": "transaction",
}

// aclCategoryTable is the ACL categories of the commands whose, in Redis
// 7.0's command table (the acl_categories of src/commands/*.json, as
// redis-server 7.0.15's COMMAND INFO answers them), are not their
// group's. TestCommandInfoLikeRedis, in cmd/pykvd, compares every
// command's with redis-server's.
var aclCategoryTable = map[string][]string{
	"command": {"connection"}, "command|count": {"connection"}, "command|docs": {"connection"},
	"command|getkeys": {"connection"}, "command|getkeysandflags": {"connection"},
	"command|help": {"connection"}, "command|info": {"connection"}, "command|list": {"connection"},
	"dbsize":   {"keyspace"},
	"flushall": {"keyspace", "dangerous"},
	"flushdb":  {"keyspace", "dangerous"},
	"info":     {"dangerous"},
	"keys":     {"keyspace", "dangerous"},
	"lastsave": {"admin", "dangerous"},
	"role":     {"admin", "dangerous"},
	"wait":     {"connection"},
}

// ACLCategories returns c's ACL categories as COMMAND INFO reports them
// ("@read", "@string", "@fast"), in Redis's order: its own (those of
// aclCategoryTable, or else of its group but for a container) and those its flags imply, as Redis adds them: @write, @read,
// @admin and @dangerous, and @fast or else @slow.
func (c *Command) ACLCategories() []string {
	has := map[string]bool{}
	if cats, ok := aclCategoryTable[c.Name]; ok {
		for _, cat := range cats {
			has[cat] = true
		}
	} else if cat := groupCategory[c.Group]; cat != "" && len(c.Subcommands) == 0 {
		has[cat] = true
	}
	has["write"] = has["write"] || c.Flags&FlagWrite != 0
	has["read"] = has["read"] || c.Flags&FlagReadOnly != 0
	if c.Flags&FlagAdmin != 0 {
		has["admin"], has["dangerous"] = true, true
	}
	has["fast"] = c.Flags&FlagFast != 0
	has["slow"] = !has["fast"]
	var cats []string
	for _, cat := range aclOrder {
		if has[cat] {
			cats = append(cats, "@"+cat)
		}
	}
	return cats
}
