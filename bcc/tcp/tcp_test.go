package tcp

import (
	"fmt"
	"testing"
)

func TestFlagsString(t *testing.T) {
	for flags, want := range map[uint8]string{0: "", SYN: "SYN", SYN | ACK: "SYN|ACK", 0xff: "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR", FIN | ACK: "FIN|ACK"} {
		if got := FlagsString(flags); got != want {
			t.Errorf("FlagsString(%#x) = %q, want %q", flags, got, want)
		}
	}
}

func TestStateName(t *testing.T) {
	if StateName(1) != "ESTABLISHED" || StateName(10) != "LISTEN" || StateName(99) != "99" {
		t.Error(StateName(1), StateName(10), StateName(99))
	}
}

func ExampleFlagsString() {
	fmt.Println(FlagsString(SYN|ACK), StateName(7))
	// Output: SYN|ACK CLOSE
}
