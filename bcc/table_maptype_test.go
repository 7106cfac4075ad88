package bcc

import (
	"testing"

	"github.com/gobcc/gobcc/internal/maps"
)

// TestMapTypeMatchesMaps keeps the public MapType and internal/maps' Type,
// which decides what each table operation may do, in agreement.
func TestMapTypeMatchesMaps(t *testing.T) {
	for mt := MapType(0); mt <= MapTaskStorage+1; mt++ {
		it := maps.Type(mt)
		if mt.String() != it.String() || mt.PerCPU() != it.PerCPU() || mt.IsArray() != it.IsArray() {
			t.Errorf("%d: bcc %s per-CPU %v array %v, maps %s per-CPU %v array %v",
				int(mt), mt, mt.PerCPU(), mt.IsArray(), it, it.PerCPU(), it.IsArray())
		}
	}
}
