//go:build churndeps

// Package deps pins modules that packages will import as they are
// written, so that go mod tidy keeps them; it is never built.
package deps

import (
	_ "github.com/go-gota/gota/dataframe"
	_ "github.com/google/uuid"
	_ "github.com/johannesboyne/gofakes3"
	_ "github.com/johannesboyne/gofakes3/backend/s3mem"
	_ "github.com/kserve/kserve/pkg/client/clientset/versioned"
	_ "github.com/kserve/kserve/pkg/client/clientset/versioned/fake"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "gonum.org/v1/plot"
	_ "gorgonia.org/gorgonia"
	_ "gorgonia.org/tensor"
	_ "sigs.k8s.io/yaml"
)
