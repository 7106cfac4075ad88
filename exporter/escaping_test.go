package exporter

import (
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The Accept rewrite asks expfmt for no escaping, keeps the client's
// format choice and any scheme the client named.
func TestWithoutEscaping(t *testing.T) {
	const prom2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
	for _, tc := range []struct {
		accept string
		format expfmt.Format
		scheme model.EscapingScheme
	}{
		{"", expfmt.FmtText, model.UnderscoreEscaping}, // no header: plain text, as before
		{"text/plain", expfmt.FmtText, model.NoEscaping},
		{prom2, expfmt.FmtOpenMetrics_1_0_0, model.NoEscaping},
		{"text/plain;version=0.0.4;q=0.5", expfmt.FmtText, model.NoEscaping},
		{"text/plain;escaping=dots", expfmt.FmtText, model.DotsEscaping},
	} {
		h := http.Header{}
		h.Set("Accept", withoutEscaping(tc.accept))
		f := expfmt.NegotiateIncludingOpenMetrics(h)
		if f.FormatType() != tc.format.FormatType() || f.ToEscapingScheme() != tc.scheme {
			t.Errorf("Accept %q: negotiated %q (type %v, escaping %v), want type %v, escaping %v",
				tc.accept, f, f.FormatType(), f.ToEscapingScheme(), tc.format.FormatType(), tc.scheme)
		}
	}
}
