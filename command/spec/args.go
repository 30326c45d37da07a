package spec

import (
	"strconv"
	"strings"
)

// ArgFlags are the flags of an Arg, as COMMAND DOCS names them.
type ArgFlags uint8

// The flags of an argument.
const (
	// ArgOptional marks an argument that may be left out.
	ArgOptional ArgFlags = 1 << iota
	// ArgMultiple marks an argument that may be repeated.
	ArgMultiple
	// ArgMultipleToken marks a repeated argument whose token is repeated
	// with it.
	ArgMultipleToken
)

// Names returns the flags' names in COMMAND DOCS's order.
func (f ArgFlags) Names() []string {
	var names []string
	for i, name := range [...]string{"optional", "multiple", "multiple_token"} {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return names
}

// Arg is one argument of a command in COMMAND DOCS's structured form,
// Redis 7's: what redis-cli shows as the command's hint and in HELP.
type Arg struct {
	// Name names the argument ("key", "condition").
	Name string
	// Type is "string", "integer", "double", "key", "pattern",
	// "unix-time", "pure-token", "oneof" or "block".
	Type string
	// KeySpec is the index of the key specification of a key argument,
	// -1 for any other.
	KeySpec int
	// Token is the word that comes before the argument ("EX"), or is the
	// whole argument (a pure-token: "NX"); empty when there is none.
	Token string
	// Since is the Redis version that added the argument to its command,
	// empty when it came with the command.
	Since string
	// DeprecatedSince is the Redis version that deprecated the argument,
	// empty for one that is not.
	DeprecatedSince string
	// Flags say whether it is optional or repeated.
	Flags ArgFlags
	// Args are the alternatives of a oneof, or the parts of a block.
	Args []Arg
}

// Arguments returns c's arguments in COMMAND DOCS's form, nil for a
// command that takes none. The slice is shared and must not be modified.
func (c *Command) Arguments() []Arg { return parsedArgs[c.Name] }

// parsedArgs is argNotation parsed, by command name.
var parsedArgs = func() map[string][]Arg {
	m := make(map[string][]Arg, len(argNotation))
	for name, text := range argNotation {
		p := argParser{s: text, cmd: name}
		m[name] = p.list(0)
		if p.i != len(p.s) {
			p.fail("unexpected " + strconv.Quote(p.s[p.i:]))
		}
	}
	return m
}()

// argNotation gives each command's arguments in a compact notation of
// pykv's own, one string per command, parsed at start:
//
//	name[:type][=TOKEN][@keyspec][^since][~deprecated_since][?][*][+][(alternatives...)|{parts...}]
//
// (a backslash escapes the byte after it, for Redis's name "ip:port").
// The type is "string" when left out, "key" when a key specification is
// given, "pure-token" for a token alone, "oneof" before "(", "block"
// before "{". ? is optional, * multiple, + multiple_token; ^ and ~ are
// followed by the Redis versions that added and deprecated the argument
// (COMMAND DOCS's since and deprecated_since). The arguments
// are Redis 7.0's (what its COMMAND DOCS answers), so that redis-cli's
// hints and HELP show the same against pykvd; a test compares them with
// redis-server's.
var argNotation = map[string]string{
	"ping":   "message?",
	"echo":   "message",
	"auth":   "username^6.0.0? password",
	"hello":  "arguments?{protover:integer username_password=AUTH?{username password} clientname:string=SETNAME?}",
	"select": "index:integer",

	"client|setname": "connection-name",
	"client|setinfo": "attr(libname:string=LIB-NAME libver:string=LIB-VER)",
	"client|kill": `filter(ip\:port~2.8.12 new-format*(client-id:integer=ID^2.8.12? normal_master_slave_pubsub=TYPE^2.8.12?(normal=NORMAL ` +
		`master=MASTER^3.2.0 slave=SLAVE replica=REPLICA^5.0.0 pubsub=PUBSUB) username:string=USER? ip\:port:string=ADDR? ` +
		`ip\:port:string=LADDR^6.2.0? yes/no:string=SKIPME?))`,
	"client|list":     "normal_master_replica_pubsub=TYPE^5.0.0?(normal=NORMAL master=MASTER replica=REPLICA pubsub=PUBSUB) id=ID^6.2.0?{client-id:integer*}",
	"client|reply":    "on_off_skip(on=ON off=OFF skip=SKIP)",
	"client|no-evict": "enabled(on=ON off=OFF)",
	"bgsave":          "schedule=SCHEDULE^3.2.2?",
	"memory|usage":    "key@0 count:integer=SAMPLES?",
	"shutdown":        "nosave_save?(nosave=NOSAVE save=SAVE) now=NOW^7.0.0? force=FORCE^7.0.0? abort=ABORT^7.0.0?",

	"get":         "key@0",
	"set":         "key@0 value condition^2.6.12?(nx=NX xx=XX) get=GET^6.2.0? expiration?(seconds:integer=EX^2.6.12 milliseconds:integer=PX^2.6.12 unix-time-seconds:unix-time=EXAT^6.2.0 unix-time-milliseconds:unix-time=PXAT^6.2.0 keepttl=KEEPTTL^6.0.0)",
	"setnx":       "key@0 value",
	"setex":       "key@0 seconds:integer value",
	"psetex":      "key@0 milliseconds:integer value",
	"getdel":      "key@0",
	"incr":        "key@0",
	"incrby":      "key@0 increment:integer",
	"decr":        "key@0",
	"decrby":      "key@0 decrement:integer",
	"mget":        "key@0*",
	"mset":        "key_value*{key@0 value}",
	"msetnx":      "key_value*{key@0 value}",
	"getset":      "key@0 value",
	"getex":       "key@0 expiration?(seconds:integer=EX milliseconds:integer=PX unix-time-seconds:unix-time=EXAT unix-time-milliseconds:unix-time=PXAT persist=PERSIST)",
	"incrbyfloat": "key@0 increment:double",
	"append":      "key@0 value",
	"strlen":      "key@0",
	"getrange":    "key@0 start:integer end:integer",
	"substr":      "key@0 start:integer end:integer",
	"setrange":    "key@0 offset:integer value",
	"getbit":      "key@0 offset:integer",
	"setbit":      "key@0 offset:integer value:integer",
	"bitcount":    "key@0 index?{start:integer end:integer index_unit^7.0.0?(byte=BYTE bit=BIT)}",
	"bitop":       "operation destkey@0 key@1*",
	"lcs":         "key1@0 key2@0 len=LEN? idx=IDX? len:integer=MINMATCHLEN? withmatchlen=WITHMATCHLEN?",
	"bitpos":      "key@0 bit:integer index?{start:integer end_index?{end:integer index_unit^7.0.0?(byte=BYTE bit=BIT)}}",

	"del":         "key@0*",
	"unlink":      "key@0*",
	"exists":      "key@0*",
	"expire":      "key@0 seconds:integer condition^7.0.0?(nx=NX xx=XX gt=GT lt=LT)",
	"pexpire":     "key@0 milliseconds:integer condition^7.0.0?(nx=NX xx=XX gt=GT lt=LT)",
	"expireat":    "key@0 unix-time-seconds:unix-time condition^7.0.0?(nx=NX xx=XX gt=GT lt=LT)",
	"pexpireat":   "key@0 unix-time-milliseconds:unix-time condition^7.0.0?(nx=NX xx=XX gt=GT lt=LT)",
	"persist":     "key@0",
	"ttl":         "key@0",
	"pttl":        "key@0",
	"scan":        "cursor:integer pattern:pattern=MATCH? count:integer=COUNT? type:string=TYPE^6.0.0?",
	"expiretime":  "key@0",
	"pexpiretime": "key@0",
	"rename":      "key@0 newkey@1",
	"renamenx":    "key@0 newkey@1",
	"copy":        "source@0 destination@1 destination-db:integer=DB? replace=REPLACE?",
	"type":        "key@0",
	"keys":        "pattern:pattern",
	"touch":       "key@0*",

	"object|encoding": "key@0",
	"object|freq":     "key@0",
	"object|idletime": "key@0",
	"object|refcount": "key@0",

	"watch": "key@0*",

	"info":         "section?*",
	"command|docs": "command-name?*",
	"command|info": "command-name?*",
	"command|list": "filterby=FILTERBY?(module-name:string=MODULE category:string=ACLCAT pattern:pattern=PATTERN)",
	"config|get":   "parameter*{parameter}",
	"config|set":   "parameter_value*{parameter value}",
	"flushall":     "async?(async=ASYNC^4.0.0 sync=SYNC^6.2.0)",
	"flushdb":      "async?(async=ASYNC^4.0.0 sync=SYNC^6.2.0)",
	"replicaof":    "args(host-port{host port:integer} no-one{no=NO one=ONE})",
	"slaveof":      "args(host-port{host port:integer} no-one{no=NO one=ONE})",
	"wait":         "numreplicas:integer timeout:integer",
	"psync":        "replicationid offset:integer",
	"backup":       "path",
}

// argParser reads argNotation.
type argParser struct {
	s, cmd string
	i      int
}

func (p *argParser) fail(why string) {
	panic("spec: arguments of " + p.cmd + ": " + why)
}

// list reads arguments separated by spaces up to close (0: the end).
func (p *argParser) list(close byte) []Arg {
	var args []Arg
	for p.i < len(p.s) && p.s[p.i] != close {
		args = append(args, p.arg())
		if p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
	}
	return args
}

// word reads a name, a type, a token or a number; a backslash makes the
// byte after it part of the word (`ip\:port`, a name of Redis's).
func (p *argParser) word() string {
	start := p.i
	var w []byte
	for p.i < len(p.s) && strings.IndexByte(":=@^~?*+(){} ", p.s[p.i]) < 0 {
		if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
			p.i++
		}
		w = append(w, p.s[p.i])
		p.i++
	}
	if p.i == start {
		p.fail("a name expected at " + strconv.Itoa(start))
	}
	return string(w)
}

func (p *argParser) arg() Arg {
	a := Arg{Name: p.word(), KeySpec: -1}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if field := a.field(c); field != nil {
			p.i++
			*field = p.word()
			continue
		}
		switch c {
		case '@':
			p.i++
			n, err := strconv.Atoi(p.word())
			if err != nil {
				p.fail(err.Error())
			}
			a.KeySpec, a.Type = n, "key"
		case '?', '*', '+':
			p.i++
			a.Flags |= map[byte]ArgFlags{'?': ArgOptional, '*': ArgMultiple, '+': ArgMultipleToken}[c]
		case '(', '{':
			p.i++
			a.Type = map[byte]string{'(': "oneof", '{': "block"}[c]
			a.Args = p.list(map[byte]byte{'(': ')', '{': '}'}[c])
			if p.i == len(p.s) {
				p.fail("unclosed " + string(c))
			}
			p.i++
		default:
			return a.typed()
		}
	}
	return a.typed()
}

// field returns the text field of a that the mark c comes before in
// argNotation, nil for any other byte.
func (a *Arg) field(c byte) *string {
	switch c {
	case ':':
		return &a.Type
	case '=':
		return &a.Token
	case '^':
		return &a.Since
	case '~':
		return &a.DeprecatedSince
	}
	return nil
}

func (a Arg) typed() Arg {
	switch {
	case a.Type != "":
	case a.Token != "":
		a.Type = "pure-token"
	default:
		a.Type = "string"
	}
	return a
}
