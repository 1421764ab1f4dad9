package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/dataset"
)

// dataCmd groups the data verbs.
func (a *app) dataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Work with churn data files",
	}
	cmd.AddCommand(a.dataGenerateCmd())
	return cmd
}

// generateOptions holds the flags of `churn data generate`.
type generateOptions struct {
	rows int
	seed int64
	out  string
}

// AddFlags registers the options' flags on cmd.
func (o *generateOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&o.rows, "rows", 31009, "number of rows to write")
	f.Int64Var(&o.seed, "seed", 42, "seed; the same seed gives the same file")
	f.StringVar(&o.out, "out", "", "write to this file (default: stdout)")
}

// Validate checks the options.
func (o *generateOptions) Validate() error {
	if o.rows < 1 {
		return fmt.Errorf("data generate: --rows %d: want >= 1", o.rows)
	}
	return nil
}

func (a *app) dataGenerateCmd() *cobra.Command {
	o := &generateOptions{}
	cmd := &cobra.Command{
		Use:   "generate [--rows N] [--seed S] [--out FILE]",
		Short: "Write synthetic rows in the original pdk-churn schema",
		Long: "Write synthetic rows in the original pdk-churn schema (88 columns):\n" +
			"numeric columns near the original scaling figures, the original\n" +
			"categories, and a churn label a model can partly learn.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if o.out == "" {
				return dataset.Generate(a.stdout, o.rows, o.seed)
			}
			if err := generateFile(o.out, o.rows, o.seed); err != nil {
				return fmt.Errorf("data generate: --out %s: %w", o.out, err)
			}
			a.logger.Info("data generated", "file", o.out, "rows", o.rows, "seed", o.seed)
			return nil
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// generateFile writes the rows to a temporary file next to path and renames
// it into place, so a failed run leaves no half-written file.
func generateFile(path string, rows int, seed int64) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := dataset.Generate(tmp, rows, seed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
