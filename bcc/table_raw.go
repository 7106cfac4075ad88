package bcc

// RawEntries is a table's entries as the kernel stores them, for readers
// that decode fields themselves and read the same table again and again
// (an exporter's scrapes): Table.ReadRaw fills it, reusing its buffers.
// Entry i's key is Keys[i*KeySize:(i+1)*KeySize] and its value
// Values[i*Stride:(i+1)*Stride]; a per-CPU table's value holds CPUs
// values of LeafSize bytes, each at a multiple of 8 bytes. The zero
// RawEntries is ready to use.
type RawEntries struct {
	// Keys and Values hold N entries (and spare room); they are
	// overwritten by the next ReadRaw.
	Keys, Values []byte
	// N is the number of entries read.
	N int
	// KeySize and LeafSize are the table's key and value sizes, Stride
	// the bytes per entry in Values, CPUs the values per entry (1 unless
	// per-CPU).
	KeySize, LeafSize, Stride, CPUs int
}

// Key returns entry i's key bytes.
func (r *RawEntries) Key(i int) []byte { return r.Keys[i*r.KeySize : (i+1)*r.KeySize] }

// Value returns entry i's value bytes (every CPU's for a per-CPU table).
func (r *RawEntries) Value(i int) []byte { return r.Values[i*r.Stride : (i+1)*r.Stride] }

// ReadRaw reads every entry, as Items does, into r's buffers without
// decoding them: once the buffers have grown to the table's size, a read
// allocates nothing that grows with the table.
func (t *Table) ReadRaw(r *RawEntries) error {
	c, err := t.m.ReadAllInto(r.Keys, r.Values)
	r.Keys, r.Values, r.N = c.Keys, c.Values, c.N
	r.KeySize, r.LeafSize, r.Stride = t.m.KeySize(), t.m.LeafSize(), t.m.ValueStride()
	r.CPUs = 1
	if t.m.Type().PerCPU() {
		r.CPUs = t.m.PossibleCPUs()
	}
	return err
}
