package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/dataset"
)

// featuresCmd groups the feature-spec verbs.
func (a *app) featuresCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "features",
		Short: "Work with feature specs (which columns a model reads, and how)",
	}
	cmd.AddCommand(a.featuresInferCmd())
	return cmd
}

// inferOptions holds the flags of `churn features infer`.
type inferOptions struct {
	label, positive, negative string
	testSize                  float64
	seed                      int64
	maxCategories             int
	out                       string
}

// AddFlags registers the options' flags on cmd.
func (o *inferOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.label, "label", "", "label column (required)")
	f.StringVar(&o.positive, "positive", "", "label value that means churn (required)")
	f.StringVar(&o.negative, "negative", "",
		"the other label value (default: inferred when the label has exactly two values)")
	f.Float64Var(&o.testSize, "test-size", 0.2,
		"share of rows held out for validation; figures come from the rest")
	f.Int64Var(&o.seed, "seed", 42, "seed of the train/validation split")
	f.IntVar(&o.maxCategories, "max-categories", dataset.DefaultMaxCategories,
		"drop categorical columns with more distinct values than this (identifiers)")
	f.StringVar(&o.out, "out", "", "write the spec to this file (default: stdout)")
}

// Validate checks the options against the files named.
func (o *inferOptions) Validate(files []string) error {
	switch {
	case len(files) == 0:
		return errors.New("features infer: name at least one CSV file")
	case o.label == "":
		return errors.New("features infer: --label is required")
	case o.positive == "":
		return errors.New("features infer: --positive is required")
	case !(o.testSize > 0 && o.testSize < 1):
		return fmt.Errorf("features infer: --test-size %v: want 0 < size < 1", o.testSize)
	case o.maxCategories < 1:
		return fmt.Errorf("features infer: --max-categories %d: want >= 1", o.maxCategories)
	}
	return nil
}

func (a *app) featuresInferCmd() *cobra.Command {
	o := &inferOptions{}
	cmd := &cobra.Command{
		Use:   "infer --label L --positive V [flags] FILE...",
		Short: "Fit a feature spec to churn CSV files",
		Long: "Fit a feature spec to churn CSV files: numeric columns get the mean and\n" +
			"standard deviation of the training split, other columns their categories.\n" +
			"The spec is written as indented JSON.",
		RunE: func(cmd *cobra.Command, files []string) error {
			if err := o.Validate(files); err != nil {
				return err
			}
			return a.runInfer(o, files)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

func (a *app) runInfer(o *inferOptions, files []string) error {
	srcs := make([]dataset.Source, 0, len(files))
	defer func() {
		for _, s := range srcs {
			s.R.(*os.File).Close()
		}
	}()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("features infer: %w", err)
		}
		srcs = append(srcs, dataset.Source{Name: name, R: f})
	}
	spec, rep, err := dataset.Infer(dataset.InferOptions{
		Label: o.label, Positive: o.positive, Negative: o.negative,
		TestSize: o.testSize, Seed: o.seed, MaxCategories: o.maxCategories,
	}, srcs...)
	if err != nil {
		return fmt.Errorf("features infer: %w", err)
	}
	for _, d := range rep.Dropped {
		a.logger.Warn("column dropped", "column", d.Column, "reason", d.Reason)
	}
	a.logger.Info("spec fitted", "rows", rep.Rows, "train_rows", rep.TrainRows,
		"numeric", len(spec.Numeric), "categorical", len(spec.Categorical),
		"inputs", spec.Width(), "negative", spec.Negative)
	if o.out == "" {
		return spec.Encode(a.stdout)
	}
	return spec.WriteFile(o.out)
}
