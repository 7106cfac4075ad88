// Package disasm prints BPF instructions as BCC's disassembler
// (bcc/disassembler.py) does, for bcc's DisassembleFunc and
// DisassembleInsns: the same opcode table and helper names, so that output
// compares line for line with BCC Python's. Instructions are decoded with
// cilium/ebpf's asm package; opcodes BCC's table does not know are printed
// as asm prints them.
package disasm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"

	"github.com/cilium/ebpf/asm"
)

// Insns disassembles raw BPF instructions (little-endian) in BCC's
// format, one line per instruction after a heading naming name, joined
// with "\n". A 64-bit load's second half gets its own numbered line.
func Insns(name string, insns []byte) (string, error) {
	if len(insns)%asm.InstructionSize != 0 {
		return "", fmt.Errorf("disassemble %s: %d bytes is not a whole number of instructions", name, len(insns))
	}
	lines := []string{"Disassemble of BPF program " + name + ":"}
	r := bytes.NewReader(insns)
	for i := 0; i < len(insns)/asm.InstructionSize; {
		raw := insns[i*asm.InstructionSize:]
		var ins asm.Instruction
		if err := ins.Unmarshal(r, binary.LittleEndian, "linux"); err != nil {
			// A truncated lddw, as BCC: name the instruction and stop.
			lines = append(lines, fmt.Sprintf("%4d: (%02x) %s", i, raw[0], "lddw requires two instructions to be disassembled"))
			break
		}
		lines = append(lines, fmt.Sprintf("%4d: (%02x) %s", i, raw[0], bccInsn(i, raw, ins)))
		if ins.OpCode.IsDWordLoad() {
			lines = append(lines, fmt.Sprintf("%4d:      (64-bit upper word)", i+1))
		}
		i += int(ins.Width())
	}
	return strings.Join(lines, "\n"), nil
}

type bccOpcode struct {
	name, class, op string
	bits            int
}

// bccOpcodes is BCC's BPFDecoder.opcodes (bcc/disassembler.py).
var bccOpcodes = map[byte]bccOpcode{
	0x04: {"add32", "dstimm", "+=", 32}, 0x05: {"ja", "joff", "", 64}, 0x07: {"add", "dstimm", "+=", 64},
	0x0c: {"add32", "dstsrc", "+=", 32}, 0x0f: {"add", "dstsrc", "+=", 64}, 0x14: {"sub32", "dstimm", "-=", 32},
	0x15: {"jeq", "jdstimmoff", "==", 64}, 0x17: {"sub", "dstimm", "-=", 64}, 0x18: {"lddw", "lddw", "", 64},
	0x1c: {"sub32", "dstsrc", "-=", 32}, 0x1d: {"jeq", "jdstsrcoff", "==", 64}, 0x1f: {"sub", "dstsrc", "-=", 64},
	0x20: {"ldabsw", "ldabs", "", 32}, 0x24: {"mul32", "dstimm", "*=", 32}, 0x25: {"jgt", "jdstimmoff", ">", 64},
	0x27: {"mul", "dstimm", "*=", 64}, 0x28: {"ldabsh", "ldabs", "", 16}, 0x2c: {"mul32", "dstsrc", "*=", 32},
	0x2d: {"jgt", "jdstsrcoff", ">", 64}, 0x2f: {"mul", "dstsrc", "*=", 64}, 0x30: {"ldabsb", "ldabs", "", 8},
	0x34: {"div32", "dstimm", "/=", 32}, 0x35: {"jge", "jdstimmoff", ">=", 64}, 0x37: {"div", "dstimm", "/=", 64},
	0x38: {"ldabsdw", "ldabs", "", 64}, 0x3c: {"div32", "dstsrc", "/=", 32}, 0x3d: {"jge", "jdstsrcoff", ">=", 64},
	0x3f: {"div", "dstsrc", "/=", 64}, 0x40: {"ldindw", "ldind", "", 32}, 0x44: {"or32", "dstimm_bw", "|=", 32},
	0x45: {"jset", "jdstimmoff", "&", 64}, 0x47: {"or", "dstimm_bw", "|=", 64}, 0x48: {"ldindh", "ldind", "", 16},
	0x4c: {"or32", "dstsrc", "|=", 32}, 0x4d: {"jset", "jdstsrcoff", "&", 64}, 0x4f: {"or", "dstsrc", "|=", 64},
	0x50: {"ldindb", "ldind", "", 8}, 0x54: {"and32", "dstimm_bw", "&=", 32}, 0x55: {"jne", "jdstimmoff", "!=", 64},
	0x57: {"and", "dstimm_bw", "&=", 64}, 0x58: {"ldinddw", "ldind", "", 64}, 0x5c: {"and32", "dstsrc", "&=", 32},
	0x5d: {"jne", "jdstsrcoff", "!=", 64}, 0x5f: {"and", "dstsrc", "&=", 64}, 0x61: {"ldxw", "ldstsrcoff", "", 32},
	0x62: {"stw", "sdstoffimm", "", 32}, 0x63: {"stxw", "sdstoffsrc", "", 32}, 0x64: {"lsh32", "dstimm", "<<=", 32},
	0x65: {"jsgt", "jdstimmoff", "s>", 64}, 0x67: {"lsh", "dstimm", "<<=", 64}, 0x69: {"ldxh", "ldstsrcoff", "", 16},
	0x6a: {"sth", "sdstoffimm", "", 16}, 0x6b: {"stxh", "sdstoffsrc", "", 16}, 0x6c: {"lsh32", "dstsrc", "<<=", 32},
	0x6d: {"jsgt", "jdstsrcoff", "s>", 64}, 0x6f: {"lsh", "dstsrc", "<<=", 64}, 0x71: {"ldxb", "ldstsrcoff", "", 8},
	0x72: {"stb", "sdstoffimm", "", 8}, 0x73: {"stxb", "sdstoffsrc", "", 8}, 0x74: {"rsh32", "dstimm", ">>=", 32},
	0x75: {"jsge", "jdstimmoff", "s>=", 64}, 0x77: {"rsh", "dstimm", ">>=", 64}, 0x79: {"ldxdw", "ldstsrcoff", "", 64},
	0x7a: {"stdw", "sdstoffimm", "", 64}, 0x7b: {"stxdw", "sdstoffsrc", "", 64}, 0x7c: {"rsh32", "dstsrc", ">>=", 32},
	0x7d: {"jsge", "jdstsrcoff", "s>=", 64}, 0x7f: {"rsh", "dstsrc", ">>=", 64}, 0x84: {"neg32", "dst", "~", 32},
	0x85: {"call", "call", "", 64}, 0x87: {"neg", "dst", "~", 64}, 0x94: {"mod32", "dstimm", "%=", 32},
	0x95: {"exit", "exit", "", 64}, 0x97: {"mod", "dstimm", "%=", 64}, 0x9c: {"mod32", "dstsrc", "%=", 32},
	0x9f: {"mod", "dstsrc", "%=", 64}, 0xa4: {"xor32", "dstimm_bw", "^=", 32}, 0xa5: {"jlt", "jdstimmoff", "<", 64},
	0xa7: {"xor", "dstimm_bw", "^=", 64}, 0xac: {"xor32", "dstsrc", "^=", 32}, 0xad: {"jlt", "jdstsrcoff", "<", 64},
	0xaf: {"xor", "dstsrc", "^=", 64}, 0xb4: {"mov32", "dstimm", "=", 32}, 0xb5: {"jle", "jdstimmoff", "<=", 64},
	0xb7: {"mov", "dstimm", "=", 64}, 0xbc: {"mov32", "dstsrc", "=", 32}, 0xbd: {"jle", "jdstsrcoff", "<=", 64},
	0xbf: {"mov", "dstsrc", "=", 64}, 0xc4: {"arsh32", "dstimm", "s>>=", 32}, 0xc5: {"jslt", "jdstimmoff", "s<", 64},
	0xc7: {"arsh", "dstimm", "s>>=", 64}, 0xcc: {"arsh32", "dstsrc", "s>>=", 32}, 0xcd: {"jslt", "jdstsrcoff", "s<", 64},
	0xcf: {"arsh", "dstsrc", "s>>=", 64}, 0xd5: {"jsle", "jdstimmoff", "s<=", 64}, 0xdc: {"endian32", "dstsrc", "endian", 32},
	0xdd: {"jsle", "jdstimmoff", "s<=", 64},
}

// bccHelpers is BCC's BPFDecoder.bpf_helpers: BCC names helper n
// "bpf_" + bccHelpers[n]. Newer helpers take their names from asm.
var bccHelpers = strings.Fields(`unspec map_lookup_elem map_update_elem map_delete_elem probe_read
ktime_get_ns trace_printk get_prandom_u32 get_smp_processor_id skb_store_bytes l3_csum_replace
l4_csum_replace tail_call clone_redirect get_current_pid_tgid get_current_uid_gid get_current_comm
get_cgroup_classid skb_vlan_push skb_vlan_pop skb_get_tunnel_key skb_set_tunnel_key perf_event_read
redirect get_route_realm perf_event_output skb_load_bytes get_stackid csum_diff skb_get_tunnel_opt
skb_set_tunnel_opt skb_change_proto skb_change_type skb_under_cgroup get_hash_recalc get_current_task
probe_write_user current_task_under_cgroup skb_change_tail skb_pull_data csum_update set_hash_invalid
get_numa_node_id skb_change_head xdp_adjust_head probe_read_str get_socket_cookie get_socket_uid
set_hash setsockopt skb_adjust_room redirect_map sk_redirect_map sock_map_update xdp_adjust_meta
perf_event_read_value perf_prog_read_value getsockopt override_return sock_ops_cb_flags_set
msg_redirect_map msg_apply_bytes msg_cork_bytes msg_pull_data bind xdp_adjust_tail
skb_get_xfrm_state get_stack skb_load_bytes_relative fib_lookup sock_hash_update msg_redirect_hash
sk_redirect_hash lwt_push_encap lwt_seg6_store_bytes lwt_seg6_adjust_srh lwt_seg6_action rc_repeat
rc_keydown skb_cgroup_id get_current_cgroup_id get_local_storage sk_select_reuseport
skb_ancestor_cgroup_id sk_lookup_tcp sk_lookup_udp sk_release map_push_elem map_pop_elem
map_peek_elem msg_push_data msg_pop_data rc_pointer_rel`)

// helperName names helper n as BCC does, and helpers newer than BCC's
// list from asm.BuiltinFunc ("FnRingbufOutput" -> "ringbuf_output").
func helperName(n uint32) (string, bool) {
	if int(n) < len(bccHelpers) {
		return bccHelpers[n], true
	}
	s := asm.BuiltinFunc(n).String()
	name, ok := strings.CutPrefix(s, "Fn")
	if !ok {
		return "", false
	}
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String(), true
}

// bccInsn formats one instruction as BCC's BPFDecoder.decode does, from
// the raw bytes (raw[8:16] is lddw's upper half).
func bccInsn(i int, raw []byte, ins asm.Instruction) string {
	op := raw[0]
	dst, src := raw[1]&0xf, raw[1]>>4
	off := int16(binary.LittleEndian.Uint16(raw[2:4]))
	immu := binary.LittleEndian.Uint32(raw[4:8])
	imm := int32(immu)
	o, ok := bccOpcodes[op]
	if !ok {
		return fmt.Sprintf("%v", ins)
	}
	sign := func(n int) string { return fmt.Sprintf("%+d", n) }
	switch o.class {
	case "dstimm":
		return fmt.Sprintf("r%d %s %d", dst, o.op, imm)
	case "dstimm_bw":
		return fmt.Sprintf("r%d %s 0x%x", dst, o.op, immu)
	case "joff":
		return fmt.Sprintf("goto %s <%d>", sign(int(off)), i+int(off)+1)
	case "dstsrc":
		return fmt.Sprintf("r%d %s r%d", dst, o.op, src)
	case "jdstimmoff":
		return fmt.Sprintf("if r%d %s %d goto pc%s <%d>", dst, o.op, imm, sign(int(off)), i+int(off)+1)
	case "jdstsrcoff":
		return fmt.Sprintf("if r%d %s r%d goto pc%s <%d>", dst, o.op, src, sign(int(off)), i+int(off)+1)
	case "lddw":
		hi := int32(binary.LittleEndian.Uint32(raw[12:16]))
		if hi == 0 {
			return fmt.Sprintf("r%d = <map at fd #%d>", dst, imm)
		}
		// BCC computes (w1.imm << 32) | w.imm in Python integers.
		return fmt.Sprintf("r%d = 0x%x", dst, int64(hi)<<32|int64(imm))
	case "ldabs":
		return fmt.Sprintf("r0 = *(u%d*)skb[%d]", o.bits, imm)
	case "ldind":
		return fmt.Sprintf("r0 = *(u%d*)skb[r%d %s]", o.bits, src, sign(int(imm)))
	case "ldstsrcoff":
		return fmt.Sprintf("r%d = *(u%d*)(r%d %s)", dst, o.bits, src, sign(int(off)))
	case "sdstoffimm":
		return fmt.Sprintf("*(u%d*)(r%d %s) = %d", o.bits, dst, sign(int(off)), imm)
	case "sdstoffsrc":
		return fmt.Sprintf("*(u%d*)(r%d %s) = r%d", o.bits, dst, sign(int(off)), src)
	case "dst":
		return fmt.Sprintf("r%d = %s (u%d)r%d", dst, o.op, o.bits, dst)
	case "call":
		if src != 1 { // BPF_PSEUDO_CALL
			if name, ok := helperName(immu); ok {
				return fmt.Sprintf("call bpf_%s#%d", name, immu)
			}
			return fmt.Sprintf("call <unknown helper #%d>", immu)
		}
		return "call " + sign(int(imm))
	case "exit":
		return "exit"
	}
	return fmt.Sprintf("%v", ins)
}
