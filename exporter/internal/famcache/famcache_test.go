package famcache

import (
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestBuildReusesStructures(t *testing.T) {
	name, help := "x_total", "help"
	k, v := "k", "a"
	pairs := []*dto.LabelPair{{Name: &k, Value: &v}}
	vals := []float64{1, 2, 3}
	labels := func(int) []*dto.LabelPair { return pairs }
	value := func(i int) float64 { return vals[i] }
	var f Family
	mf := f.Build(&name, &help, false, 3, 1, labels, value)
	if mf.GetType() != dto.MetricType_COUNTER || len(mf.Metric) != 3 || mf.Metric[2].GetCounter().GetValue() != 3 {
		t.Fatalf("first build: %v", mf)
	}
	first := mf.Metric[0]
	vals[0] = 10
	var again *dto.MetricFamily
	if allocs := testing.AllocsPerRun(5, func() { again = f.Build(&name, &help, false, 3, 1, labels, value) }); allocs > 0 {
		t.Errorf("a build of the same version allocated %v times", allocs)
	}
	if again.Metric[0] != first || again.Metric[0].GetCounter().GetValue() != 10 {
		t.Errorf("same version: metric reused %v, value %v", again.Metric[0] == first, again.Metric[0].GetCounter().GetValue())
	}
	// A new version rebuilds: a gauge of two series.
	g := f.Build(&name, &help, true, 2, 2, labels, value)
	if g.GetType() != dto.MetricType_GAUGE || len(g.Metric) != 2 || g.Metric[1].GetGauge().GetValue() != 2 || g.Metric[1].Counter != nil {
		t.Errorf("rebuilt as gauge: %v", g)
	}
}
