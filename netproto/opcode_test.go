package netproto

import (
	"strings"
	"testing"
)

// TestOpcodeValuesAreFrozen pins every opcode to its byte: they are the
// wire format, and a renumbering must fail loudly here, not in the field.
func TestOpcodeValuesAreFrozen(t *testing.T) {
	want := map[string]byte{
		"PING": 0x01, "AUTH": 0x02, "QUIT": 0x03, "INFO": 0x04, "DBSIZE": 0x05,
		"GET": 0x10, "SET": 0x11, "DEL": 0x12, "EXISTS": 0x13, "MGET": 0x14, "MSET": 0x15, "SCAN": 0x16,
		"INCR": 0x20, "INCRBY": 0x21, "DECR": 0x22, "DECRBY": 0x23,
		"EXPIRE": 0x30, "PEXPIRE": 0x31, "PERSIST": 0x32, "TTL": 0x33, "PTTL": 0x34,
	}
	assigned := 0
	for op := range 256 {
		name, ok := OpcodeName(byte(op))
		if !ok {
			continue
		}
		assigned++
		if want[name] != byte(op) {
			t.Errorf("OpcodeName(0x%02x) = %q; the frozen table says %q is 0x%02x", op, name, name, want[name])
		}
	}
	if assigned != len(want) {
		t.Errorf("%d opcodes assigned, the frozen table has %d", assigned, len(want))
	}
	if OpCommand != 0xFF {
		t.Errorf("OpCommand = 0x%02x, want 0xff", OpCommand)
	}
}

func TestOpcodeRoundTrip(t *testing.T) {
	for op := range 256 {
		name, ok := OpcodeName(byte(op))
		if !ok {
			continue
		}
		for _, spelling := range []string{name, strings.ToLower(name), strings.ToLower(name[:1]) + name[1:]} {
			got, ok := Opcode(spelling)
			if !ok || got != byte(op) {
				t.Errorf("Opcode(%q) = 0x%02x, %v; want 0x%02x, true", spelling, got, ok, op)
			}
			if got, ok := opcodeOf([]byte(spelling)); !ok || got != byte(op) {
				t.Errorf("opcodeOf(%q) = 0x%02x, %v; want 0x%02x, true", spelling, got, ok, op)
			}
		}
	}
}

func TestOpcodeUnknown(t *testing.T) {
	for _, name := range []string{"", "CONFIG", "HELLO", "GETX", "GE", "INCRBYFLOAT", "G\x00T", "ＧET"} {
		if op, ok := Opcode(name); ok {
			t.Errorf("Opcode(%q) = 0x%02x, true; want false", name, op)
		}
	}
	for _, op := range []byte{0x00, 0x06, 0x7e, OpCommand} {
		if name, ok := OpcodeName(op); ok {
			t.Errorf("OpcodeName(0x%02x) = %q, true; want false", op, name)
		}
	}
}

func TestOpcodeDoesNotAllocate(t *testing.T) {
	name := []byte("incrby")
	if n := testing.AllocsPerRun(100, func() { opcodeOf(name) }); n != 0 {
		t.Errorf("opcodeOf allocates %v times", n)
	}
}
