// Package stats holds the few statistical tests the simulations and tests
// need: Pearson's chi-square goodness of fit and the chi-square
// distribution's upper tail, computed through the regularized incomplete
// gamma function (series below a+1, continued fraction above, as in
// Abramowitz and Stegun 6.5.29 and 6.5.31). It is float64 code for tests
// and reports, never for consensus.
package stats

import "math"

// ChiSquare returns Pearson's statistic for observed counts against
// expected shares proportional to weights, and its degrees of freedom:
// the number of positive weights minus one. Categories of zero weight are
// left out; a positive count in one makes the statistic +Inf. It returns
// df = -1 when the slices differ in length or no weight is positive.
func ChiSquare(observed, weights []uint64) (stat float64, df int) {
	if len(observed) != len(weights) {
		return 0, -1
	}
	var n, w float64
	for i := range observed {
		n += float64(observed[i])
		w += float64(weights[i])
	}
	df = -1
	for i := range observed {
		if weights[i] == 0 {
			if observed[i] > 0 {
				stat = math.Inf(1)
			}
			continue
		}
		df++
		exp := n * float64(weights[i]) / w
		d := float64(observed[i]) - exp
		stat += d * d / exp
	}
	return stat, df
}

// ChiSquareP returns the p-value of a chi-square statistic with df degrees
// of freedom: the probability that a chi-square variable exceeds stat. It
// returns 1 for stat ≤ 0 or df < 1 with stat = 0, 0 for stat = +Inf, and
// NaN for df < 1 otherwise.
func ChiSquareP(stat float64, df int) float64 {
	switch {
	case math.IsInf(stat, 1):
		return 0
	case stat <= 0:
		return 1
	case df < 1 || math.IsNaN(stat):
		return math.NaN()
	}
	return gammaQ(float64(df)/2, stat/2)
}

// gammaQ returns the regularized upper incomplete gamma function
// Q(a, x) = Γ(a, x)/Γ(a) for a > 0, x > 0.
func gammaQ(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	prefix := math.Exp(a*math.Log(x) - x - lg) // x^a e^-x / Γ(a)
	if x < a+1 {
		// P(a, x) = prefix · Σ x^n / (a (a+1) … (a+n)).
		term := 1 / a
		sum := term
		for n := 1; n < 10000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-16 {
				break
			}
		}
		return math.Max(0, 1-prefix*sum)
	}
	// Q(a, x) = prefix · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …))),
	// evaluated with the modified Lentz method.
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 10000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return prefix * h
}
