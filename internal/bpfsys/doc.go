// Package bpfsys issues the bpf(2) commands gobcc needs on map and program
// file descriptors that libbcc hands out, working on raw byte buffers so the
// hot paths (lookups, batch reads, bulk deletes) allocate nothing per entry
// and decoding stays in the layers above.
//
// The attribute layouts of union bpf_attr are declared here, not taken from
// cilium/ebpf's internal packages, so that gobcc controls their size and the
// kernel's zero-tail checks stay predictable.
//
// Buffers passed to the map functions must be at least as large as the map's
// key and value sizes (times the entry count for batch calls): the kernel
// writes the full size it knows about and cannot see a Go slice's length.
// Per-CPU maps use ValueStride bytes per value.
package bpfsys
