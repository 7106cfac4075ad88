package eventbench

import (
	"errors"
	"slices"
	"testing"
)

// fakeTrial loses records above limit and never produces more than cap
// events/s, like a consumer that keeps up to limit and a producer that
// tops out at cap.
func fakeTrial(limit, cap int, targets *[]int) func(int) (Result, error) {
	return func(rate int) (Result, error) {
		*targets = append(*targets, rate)
		achieved := min(rate, cap)
		return Result{Target: rate, Achieved: float64(achieved), ZeroLoss: achieved <= limit}, nil
	}
}

func TestClimbDoublesThenBisects(t *testing.T) {
	var targets []int
	best, trials, err := Climb(ClimbConfig{Start: 50000, Trials: 20}, fakeTrial(300000, 1<<30, &targets))
	if err != nil {
		t.Fatal(err)
	}
	// 50k, 100k, 200k ok; 400k lossy; 300k ok; 350k lossy; 325k lossy (gap 25k < 10% of 325k).
	want := []int{50000, 100000, 200000, 400000, 300000, 350000, 325000}
	if !slices.Equal(targets, want) {
		t.Errorf("targets %v, want %v", targets, want)
	}
	if best != 300000 || len(trials) != len(want) {
		t.Errorf("best %v after %d trials, want 300000 after %d", best, len(trials), len(want))
	}
}

func TestClimbStopsAtProducerLimit(t *testing.T) {
	var targets []int
	best, _, err := Climb(ClimbConfig{Start: 50000, Trials: 20}, fakeTrial(1<<30, 120000, &targets))
	if err != nil {
		t.Fatal(err)
	}
	if best != 120000 || !slices.Equal(targets, []int{50000, 100000, 200000}) {
		t.Errorf("best %v, targets %v; want 120000 after 50k, 100k, 200k", best, targets)
	}
}

func TestClimbGoesDownAndGivesUp(t *testing.T) {
	var targets []int
	best, _, err := Climb(ClimbConfig{Start: 50000, Trials: 2}, fakeTrial(20000, 1<<30, &targets))
	if !errors.Is(err, ErrNoZeroLossRate) || best != 0 {
		t.Errorf("all lossy within 2 trials: best %v, err %v", best, err)
	}
	if !slices.Equal(targets, []int{50000, 25000}) {
		t.Errorf("targets %v, want halving from 50000", targets)
	}
	targets = nil
	// 50k, 25k lossy; 12.5k ok; 18.75k ok: the trial limit ends the bisection.
	if best, _, err = Climb(ClimbConfig{Start: 50000, Trials: 4}, fakeTrial(20000, 1<<30, &targets)); err != nil || best != 18750 {
		t.Errorf("halving to a lossless rate: best %v, err %v (targets %v)", best, err, targets)
	}
}

func TestClimbPassesTrialErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, _, err := Climb(ClimbConfig{Start: 1, Trials: 5}, func(int) (Result, error) { return Result{}, boom }); !errors.Is(err, boom) {
		t.Errorf("err %v, want boom", err)
	}
}

func TestNewConsumerRefusesUnknownTransport(t *testing.T) {
	if _, err := NewConsumer(Config{Transport: "pigeon", ConsumerCPU: -1}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("err %v, want ErrBadConfig", err)
	}
}
