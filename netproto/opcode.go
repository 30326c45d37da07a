package netproto

// Opcodes of request frames. Each stands for one command name of the
// command table; the frame's remaining args are argv[1:]. They are part of
// the wire format: a value, once shipped, is never changed or reused.
// Opcodes are grouped by family, with room left in each for additions
// (adding one needs no version bump: a server that does not know it answers
// with a PROTO error and reads on, so a client can fall back to OpCommand).
//
// 0x00 is never an opcode, so a zeroed buffer is never a valid request.
const (
	// Connection.
	OpPing   byte = 0x01 // PING [message]
	OpAuth   byte = 0x02 // AUTH [username] password
	OpQuit   byte = 0x03 // QUIT
	OpInfo   byte = 0x04 // INFO [section ...]
	OpDBSize byte = 0x05 // DBSIZE

	// Keys and strings.
	OpGet    byte = 0x10 // GET key
	OpSet    byte = 0x11 // SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
	OpDel    byte = 0x12 // DEL key [key ...]
	OpExists byte = 0x13 // EXISTS key [key ...]
	OpMGet   byte = 0x14 // MGET key [key ...]
	OpMSet   byte = 0x15 // MSET key value [key value ...]
	OpScan   byte = 0x16 // SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]

	// Counters.
	OpIncr   byte = 0x20 // INCR key
	OpIncrBy byte = 0x21 // INCRBY key delta
	OpDecr   byte = 0x22 // DECR key
	OpDecrBy byte = 0x23 // DECRBY key delta

	// Expiry.
	OpExpire  byte = 0x30 // EXPIRE key seconds
	OpPExpire byte = 0x31 // PEXPIRE key milliseconds
	OpPersist byte = 0x32 // PERSIST key
	OpTTL     byte = 0x33 // TTL key
	OpPTTL    byte = 0x34 // PTTL key

	// OpCommand is the generic opcode: its first arg is the command name
	// (any case) and the rest are the command's args. It reaches every
	// command of the table, including those without an opcode of their own
	// (replication and admin commands).
	OpCommand byte = 0xFF
)

// opNames maps an opcode to the upper-case command name it stands for.
// OpCommand has no entry: it names no single command.
var opNames = [256]string{
	OpPing:    "PING",
	OpAuth:    "AUTH",
	OpQuit:    "QUIT",
	OpInfo:    "INFO",
	OpDBSize:  "DBSIZE",
	OpGet:     "GET",
	OpSet:     "SET",
	OpDel:     "DEL",
	OpExists:  "EXISTS",
	OpMGet:    "MGET",
	OpMSet:    "MSET",
	OpScan:    "SCAN",
	OpIncr:    "INCR",
	OpIncrBy:  "INCRBY",
	OpDecr:    "DECR",
	OpDecrBy:  "DECRBY",
	OpExpire:  "EXPIRE",
	OpPExpire: "PEXPIRE",
	OpPersist: "PERSIST",
	OpTTL:     "TTL",
	OpPTTL:    "PTTL",
}

// maxOpName is the length of the longest name in opNames; a longer name
// cannot have an opcode, so the lookup need not fold it.
const maxOpName = 7

// opByName is the inverse of opNames, keyed by the upper-case name.
var opByName = func() map[string]byte {
	m := make(map[string]byte)
	for op, name := range opNames {
		if name != "" {
			if len(name) > maxOpName {
				panic("netproto: opcode name longer than maxOpName: " + name)
			}
			m[name] = byte(op)
		}
	}
	return m
}()

// OpcodeName returns the upper-case command name that op stands for. It
// reports false for an unassigned byte and for OpCommand, which stands for
// no single command (its name travels as its first arg).
func OpcodeName(op byte) (string, bool) {
	name := opNames[op]
	return name, name != ""
}

// Opcode returns the opcode of the command called name, compared without
// regard to ASCII case. It reports false for a command that has no opcode
// of its own; such a command is sent with OpCommand.
func Opcode(name string) (byte, bool) {
	if len(name) > maxOpName {
		return 0, false
	}
	var up [maxOpName]byte
	for i := 0; i < len(name); i++ {
		up[i] = upper(name[i])
	}
	op, ok := opByName[string(up[:len(name)])]
	return op, ok
}

// opcodeOf is Opcode for a []byte name, without allocating.
func opcodeOf(name []byte) (byte, bool) {
	if len(name) > maxOpName {
		return 0, false
	}
	var up [maxOpName]byte
	for i, c := range name {
		up[i] = upper(c)
	}
	op, ok := opByName[string(up[:len(name)])]
	return op, ok
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
