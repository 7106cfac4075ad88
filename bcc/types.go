package bcc

import (
	"fmt"
	"strings"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/maps"
)

// ProgType is a BPF program type (the kernel's enum bpf_prog_type). The
// names follow BCC Python's BPF.KPROBE, BPF.TRACEPOINT, ... constants.
type ProgType int

// Program types, with the kernel's values.
const (
	SocketFilter          ProgType = 1
	Kprobe                ProgType = 2
	SchedCLS              ProgType = 3
	SchedACT              ProgType = 4
	Tracepoint            ProgType = 5
	XDP                   ProgType = 6
	PerfEvent             ProgType = 7
	CgroupSKB             ProgType = 8
	CgroupSock            ProgType = 9
	LWTIn                 ProgType = 10
	LWTOut                ProgType = 11
	LWTXmit               ProgType = 12
	SockOps               ProgType = 13
	SKSKB                 ProgType = 14
	CgroupDevice          ProgType = 15
	SKMsg                 ProgType = 16
	RawTracepoint         ProgType = 17
	CgroupSockAddr        ProgType = 18
	CgroupSysctl          ProgType = 23
	RawTracepointWritable ProgType = 24
	CgroupSockopt         ProgType = 25
	Tracing               ProgType = 26
	LSM                   ProgType = 29
)

// String returns the kernel's lower-case name for the type.
func (t ProgType) String() string {
	if s, ok := bpfsys.ProgTypeName(uint32(t)); ok {
		return s
	}
	return fmt.Sprintf("prog_type(%d)", int(t))
}

// ParseProgType reads a program type name as String prints it (also
// accepting BCC Python's upper-case constants such as "TRACEPOINT").
func ParseProgType(s string) (ProgType, error) {
	if t, ok := bpfsys.ProgTypeByName(strings.ToLower(strings.ReplaceAll(s, "-", "_"))); ok {
		return ProgType(t), nil
	}
	return 0, fmt.Errorf("unknown program type %q", s)
}

// AttachType is the kernel's enum bpf_attach_type, needed when loading
// tracing and LSM programs.
type AttachType int

// Attach types BCC uses when loading.
const (
	AttachNone        AttachType = 0
	AttachTraceFentry AttachType = 24
	AttachTraceFexit  AttachType = 25
	AttachLSMMac      AttachType = 27
)

// MapType is a BPF map type (the kernel's enum bpf_map_type).
type MapType int

// Map types, with the kernel's values and BCC's names.
const (
	MapHash                MapType = 1
	MapArray               MapType = 2
	MapProgArray           MapType = 3
	MapPerfEventArray      MapType = 4
	MapPercpuHash          MapType = 5
	MapPercpuArray         MapType = 6
	MapStackTrace          MapType = 7
	MapCgroupArray         MapType = 8
	MapLRUHash             MapType = 9
	MapLRUPercpuHash       MapType = 10
	MapLPMTrie             MapType = 11
	MapArrayOfMaps         MapType = 12
	MapHashOfMaps          MapType = 13
	MapDevmap              MapType = 14
	MapSockmap             MapType = 15
	MapCpumap              MapType = 16
	MapXskmap              MapType = 17
	MapSockhash            MapType = 18
	MapCgroupStorage       MapType = 19
	MapReuseportSockarray  MapType = 20
	MapPercpuCgroupStorage MapType = 21
	MapQueue               MapType = 22
	MapStack               MapType = 23
	MapSkStorage           MapType = 24
	MapDevmapHash          MapType = 25
	MapStructOps           MapType = 26
	MapRingbuf             MapType = 27
	MapInodeStorage        MapType = 28
	MapTaskStorage         MapType = 29
)

// String returns the kernel's lower-case name for the map type.
func (t MapType) String() string {
	return maps.Type(t).String()
}

// PerCPU reports whether the map keeps one value per possible CPU.
func (t MapType) PerCPU() bool { return maps.Type(t).PerCPU() }

// IsArray reports whether keys are the indexes 0..MaxEntries-1.
func (t MapType) IsArray() bool { return maps.Type(t).IsArray() }
