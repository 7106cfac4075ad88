// Package tcp names TCP states and header flags as BCC Python's bcc.tcp
// module does (tcpstate, flags2str), for tools such as tcpstates and
// tcplife that read them from the kernel.
package tcp

import (
	"strconv"
	"strings"
)

// States maps the kernel's TCP states (include/net/tcp_states.h) to the
// names BCC prints (BCC's tcpstate dict).
var States = map[int]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
	11: "CLOSING", 12: "NEW_SYN_RECV",
}

// StateName returns the name of a TCP state, or its number for a state
// the table does not know.
func StateName(state int) string {
	if s, ok := States[state]; ok {
		return s
	}
	return strconv.Itoa(state)
}

// TCP header flags (include/net/tcp.h TCPHDR_*).
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
	ECE = 0x40
	CWR = 0x80
)

var flagNames = []struct {
	bit  uint8
	name string
}{{FIN, "FIN"}, {SYN, "SYN"}, {RST, "RST"}, {PSH, "PSH"}, {ACK, "ACK"}, {URG, "URG"}, {ECE, "ECE"}, {CWR, "CWR"}}

// FlagsString joins the names of the flags set in flags with "|", in BCC's
// order (flags2str): 0x12 is "SYN|ACK".
func FlagsString(flags uint8) string {
	var names []string
	for _, f := range flagNames {
		if flags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, "|")
}
