package bcc_test

import (
	"fmt"
	"log"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/symbols"
)

// The package documentation's example: BCC's "kmalloc callers" script.
// It is compiled with the tests; run it as root with
// go test -run Example_kmallocCallers (it has no fixed output).
func Example_kmallocCallers() {
	b, err := bcc.New(bcc.Options{Text: `
	    BPF_HASH(callers, u64, u64);
	    TRACEPOINT_PROBE(kmem, kmalloc) {
	        u64 ip = args->call_site;
	        callers.increment(ip);
	        return 0;
	    }`})
	if err != nil {
		log.Fatal(err) // *bcc.CompileError or *bcc.VerifierError say why
	}
	defer b.Close()
	callers, err := b.Table("callers")
	if err != nil {
		log.Fatal(err)
	}
	time.Sleep(time.Second)
	items, err := callers.Items()
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Printf("%-40s %d\n", b.Ksym(it.Key.Uint64(), symbols.Options{ShowOffset: true}), it.Value.Uint64())
	}
}
