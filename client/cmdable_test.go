package client

import (
	"reflect"
	"testing"
)

// TestCmdableListsEveryCommand keeps the exported interface and the one
// method set in step: a command added to cmdable and not to Cmdable would
// be on Client and Pipeline but out of reach of code written for both.
func TestCmdableListsEveryCommand(t *testing.T) {
	impl := reflect.TypeFor[cmdable]()
	iface := reflect.TypeFor[Cmdable]()
	for i := range impl.NumMethod() {
		if m := impl.Method(i); !m.IsExported() {
			continue
		} else if _, ok := iface.MethodByName(m.Name); !ok {
			t.Errorf("cmdable.%s is missing from Cmdable", m.Name)
		}
	}
	if impl.NumMethod() != iface.NumMethod() {
		t.Errorf("cmdable has %d methods, Cmdable %d", impl.NumMethod(), iface.NumMethod())
	}
}
