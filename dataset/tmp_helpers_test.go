package dataset

import (
	"crypto/sha256"
	"encoding/csv"
	"io"
)

func readOnly(r io.Reader) {
	h := sha256.New()
	io.Copy(h, r)
}

func csvColumns(r io.Reader) [][]string {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, _ := cr.Read()
	cols := make([][]string, len(header))
	for {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		for j, v := range rec {
			cols[j] = append(cols[j], v)
		}
	}
	return cols
}
