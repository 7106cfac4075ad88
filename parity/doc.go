// Package parity holds gobcc's parity suite against BCC Python; it has no
// library code. Its tests (TestParity...) run every program in
// testdata/parity through BCC Python (/usr/bin/python3 with the bcc module,
// driven by testdata/parity/run_bcc.py) and through gobcc, with the same
// workload made by each process, and compare what users of the two see:
// compile and load outcomes, table types and decoded contents, histogram
// text, trace_fields tuples, ksym results and errors. docs/parity.md lists
// the programs and every deliberate difference.
package parity
