package optarg

import (
	"errors"
	"testing"
)

type opts struct{ n int }

func TestOne(t *testing.T) {
	if o, err := One[opts](nil); err != nil || o != (opts{}) {
		t.Errorf("none: %+v, %v", o, err)
	}
	if o, err := One([]opts{{n: 3}}); err != nil || o.n != 3 {
		t.Errorf("one: %+v, %v", o, err)
	}
	if _, err := One([]opts{{}, {}}); !errors.Is(err, ErrTooMany) {
		t.Errorf("two: %v, want ErrTooMany", err)
	}
	if _, bad := OneOrComplaint([]opts{{}, {}}); bad != "[more than one options value: got 2 optarg.opts values]" {
		t.Errorf("complaint for two = %q", bad)
	}
	if o, bad := OneOrComplaint([]opts{{n: 1}}); bad != "" || o.n != 1 {
		t.Errorf("one: %+v, %q", o, bad)
	}
}
