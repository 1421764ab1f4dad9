package dataset

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// parseNumber parses one numeric value: NaN for a missing-value marker, an
// error wrapping ErrNotNumber for anything but a finite decimal number.
// Surrounding spaces are allowed, as pandas allows them.
func parseNumber(s string) (float64, error) {
	if v, ok := parseDecimal(s); ok {
		return v, nil
	}
	if IsMissing(s) {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if t := strings.TrimSpace(s); t != s {
			return parseNumber(t)
		}
		if errors.Is(err, strconv.ErrRange) && !isHex(s) {
			return 0, errNotFinite
		}
		return 0, ErrNotNumber
	}
	if isHex(s) {
		return 0, ErrNotNumber
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errNotFinite
	}
	return v, nil
}

// notFinite is the error of an infinity, a number beyond float64's range,
// or a NaN spelled in a way that is not a missing-value marker: it is an
// ErrNotNumber with its own words.
type notFinite struct{}

func (notFinite) Error() string        { return "not a finite number" }
func (notFinite) Is(target error) bool { return target == ErrNotNumber }

var errNotFinite error = notFinite{}

// exactPow10 holds the powers of ten a float64 represents exactly.
var exactPow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// parseDecimal parses the common shape of a CSV number, an optional sign,
// digits and an optional fraction ("-12.5", "3", ".25", "7."), when it has
// at most 19 digits in all, their value fits 53 bits and the fraction has
// at most 22 digits. Then the digits m and the power 10^k are both exact
// float64 values, and IEEE division rounds m/10^k correctly: the result is
// bit for bit strconv.ParseFloat's, several times faster. Anything else
// (exponents, long mantissas, markers, spaces) reports false and goes to
// the general path.
func parseDecimal(s string) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	var m uint64
	start := i
	for ; i < len(s) && s[i]-'0' < 10; i++ {
		m = m*10 + uint64(s[i]-'0')
	}
	digits, frac := i-start, 0
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for ; i < len(s) && s[i]-'0' < 10; i++ {
			m = m*10 + uint64(s[i]-'0')
		}
		frac = i - start
	}
	if i != len(s) || digits+frac == 0 {
		return 0, false
	}
	return exactDecimal(m, digits+frac, frac, neg)
}

// exactDecimal returns ±m/10^frac, m having n digits, when both m and
// 10^frac are exact float64 values, so that one IEEE division rounds the
// quotient correctly: 19 digits cannot overflow m, and 2^53 and 10^22
// bound the exact values.
func exactDecimal(m uint64, n, frac int, neg bool) (float64, bool) {
	if n > 19 || m > 1<<53 || frac >= len(exactPow10) {
		return 0, false
	}
	v := float64(m)
	if frac > 0 {
		v /= exactPow10[frac]
	}
	if neg {
		v = -v
	}
	return v, true
}

// ScanNumber reads the number at the start of s in the strict form JSON
// gives numbers, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, taking
// the longest such prefix, and returns its length n (0 when s does not
// start with one). When exact is true, v is the number's value, bit for
// bit what parsing s[:n] as a CSV cell gives (the decimal fast path, in
// the same pass that finds the number's end). Otherwise (an exponent, or
// digits beyond what that path takes: over 19 in all, a value over 53
// bits, a fraction over 22) the caller parses s[:n] as a cell, through
// Columns.Text, which also reports one out of float64's range.
func ScanNumber(s string) (v float64, n int, exact bool) {
	i, neg := 0, len(s) > 0 && s[0] == '-'
	if neg {
		i = 1
	}
	var m uint64
	start := i
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i]-'1' < 9:
		for ; i < len(s) && s[i]-'0' < 10; i++ {
			m = m*10 + uint64(s[i]-'0')
		}
	default:
		return 0, 0, false
	}
	digits, frac := i-start, 0
	if i+1 < len(s) && s[i] == '.' && s[i+1]-'0' < 10 {
		i++
		start = i
		for ; i < len(s) && s[i]-'0' < 10; i++ {
			m = m*10 + uint64(s[i]-'0')
		}
		frac = i - start
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		if e := exponent(s[i:]); e > 0 {
			return 0, i + e, false
		}
	}
	v, exact = exactDecimal(m, digits+frac, frac, neg)
	return v, i, exact
}

// exponent returns the length of the exponent at the start of s, 0 if
// there is none.
func exponent(s string) int {
	if len(s) < 2 || s[0]|0x20 != 'e' {
		return 0
	}
	i := 1
	if s[i] == '+' || s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i]-'0' < 10 {
		i++
	}
	if i == start {
		return 0
	}
	return i
}

// isHex reports a hexadecimal float, which strconv accepts but a CSV
// reader such as pandas does not. (strconv refuses digit separators
// without a base prefix, so only the prefix needs checking.)
func isHex(s string) bool {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

// IsMissing reports whether s marks a missing value, as pandas read_csv
// treats it by default: empty, "NA", "NaN", "null" and the like.
func IsMissing(s string) bool {
	switch s {
	case "", "NA", "NaN", "nan", "-NaN", "-nan", "N/A", "n/a", "NULL", "null", "None",
		"<NA>", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN":
		return true
	}
	return false
}
