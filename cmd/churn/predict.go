package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/serve"
)

// predictOptions holds the flags of `churn predict`.
type predictOptions struct {
	url       string
	modelName string
	protocol  string
	explain   bool
	top       int
	timeout   time.Duration
}

// AddFlags registers the options' flags on cmd.
func (o *predictOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "http://localhost:8080", "predictor base URL")
	f.StringVar(&o.modelName, "model_name", "",
		"model name in URLs (default: the one model the server lists)")
	f.StringVar(&o.protocol, "protocol", "v1", "protocol: v1 or v2")
	f.BoolVar(&o.explain, "explain", false, "print each row's largest contributions (v1 only)")
	f.IntVar(&o.top, "top", 5, "contributions printed per row with --explain")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of each request")
}

// Validate checks the options.
func (o *predictOptions) Validate() error {
	switch {
	case o.protocol != "v1" && o.protocol != "v2":
		return fmt.Errorf("predict: --protocol %q: want v1 or v2", o.protocol)
	case o.explain && o.protocol != "v1":
		return errors.New("predict: --explain needs --protocol v1")
	case o.top < 1:
		return fmt.Errorf("predict: --top %d: want >= 1", o.top)
	case o.timeout <= 0:
		return fmt.Errorf("predict: --timeout %v: want > 0", o.timeout)
	}
	return nil
}

func (a *app) predictCmd() *cobra.Command {
	o := &predictOptions{}
	cmd := &cobra.Command{
		Use:   "predict --url URL [--model_name NAME] [--protocol v1|v2] [--explain] FILE",
		Short: "Send rows from a CSV or JSON file to a predictor and print its answers",
		Long: "Send rows to a running predictor (churn serve, or the model on KServe).\n" +
			"FILE is CSV (values sent as read) or JSON: a request body sent as it is,\n" +
			"or a list of row objects. When the rows carry the label, each line reads\n" +
			"'Ground truth/Predicted: 1/0' and the accuracy follows.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return a.runPredict(cmd.Context(), o, args[0])
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// predictInput is what a file holds: rows, or a body to send as it is.
type predictInput struct {
	header  []string
	records [][]string
	body    []byte // non-nil: send unchanged
}

func (a *app) runPredict(ctx context.Context, o *predictOptions, path string) error {
	in, err := readPredictInput(path)
	if err != nil {
		return err
	}
	c := &serve.Client{BaseURL: o.url, Model: o.modelName}
	c.HTTP = &http.Client{Timeout: o.timeout}
	if c.Model == "" {
		if c.Model, err = onlyModel(ctx, c); err != nil {
			return err
		}
	}
	md, err := c.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("predict: model metadata: %w", err)
	}
	truth := in.labels(md)
	var pred []int
	var ex []serve.Explanation
	if o.protocol == "v1" {
		pred, ex, err = predictV1(ctx, c, in, o.explain)
	} else {
		pred, err = predictV2(ctx, c, md, in)
	}
	if err != nil {
		return err
	}
	return printPredictions(a.stdout, truth, pred, ex, o.top)
}

// onlyModel asks the server for its models and returns the only one.
func onlyModel(ctx context.Context, c *serve.Client) (string, error) {
	names, err := c.Models(ctx)
	if err != nil {
		return "", fmt.Errorf("predict: listing models: %w", err)
	}
	if len(names) != 1 {
		return "", fmt.Errorf("predict: the server lists models %q; pick one with --model_name", names)
	}
	return names[0], nil
}

func predictV1(ctx context.Context, c *serve.Client, in *predictInput,
	explain bool) ([]int, []serve.Explanation, error) {
	body := in.body
	if body == nil {
		var err error
		if body, err = serve.V1Body(in.header, in.records, ""); err != nil {
			return nil, nil, fmt.Errorf("predict: %w", err)
		}
	}
	resp, err := c.Predict(ctx, body, explain)
	if err != nil {
		return nil, nil, fmt.Errorf("predict: %w", err)
	}
	pred := make([]int, len(resp.Predictions))
	for i, p := range resp.Predictions {
		if len(p) != 1 {
			return nil, nil, fmt.Errorf("predict: prediction %d holds %d values, want 1", i, len(p))
		}
		if p[0] >= 0.5 {
			pred[i] = 1
		}
	}
	return pred, resp.Explanations, nil
}

func predictV2(ctx context.Context, c *serve.Client, md *serve.ModelMetadata,
	in *predictInput) ([]int, error) {
	body := in.body
	if body == nil {
		var err error
		if body, err = serve.V2Body(md, "churn-predict", in.header, in.records); err != nil {
			return nil, fmt.Errorf("predict: %w", err)
		}
	}
	resp, err := c.Infer(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	out, ok := resp.Output(serve.OutputLabel)
	if !ok {
		return nil, fmt.Errorf("predict: the answer has no %q output", serve.OutputLabel)
	}
	pred := make([]int, len(out.Data))
	for i, v := range out.Data {
		if v.String() == "1" {
			pred[i] = 1
		}
	}
	return pred, nil
}

// readPredictInput reads a CSV file as strings, or a JSON file.
func readPredictInput(path string) (*predictInput, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return jsonInput(path, b)
	}
	all, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("predict: %s: %w", path, err)
	}
	if len(all) < 2 {
		return nil, fmt.Errorf("predict: %s: no data rows", path)
	}
	return &predictInput{header: all[0], records: all[1:]}, nil
}

// jsonInput takes a JSON object as a body to send unchanged and a list of
// row objects as rows.
func jsonInput(path string, b []byte) (*predictInput, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if !json.Valid(trimmed) {
			return nil, fmt.Errorf("predict: %s: not valid JSON", path)
		}
		return &predictInput{body: trimmed}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		return nil, fmt.Errorf("predict: %s: want a request body or a list of row objects: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("predict: %s: no rows", path)
	}
	in := &predictInput{}
	pos := map[string]int{}
	for _, r := range rows {
		for k := range r {
			if _, ok := pos[k]; !ok {
				pos[k] = len(in.header)
				in.header = append(in.header, k)
			}
		}
	}
	for i, r := range rows {
		rec := make([]string, len(in.header))
		for k, v := range r {
			switch v := v.(type) {
			case nil:
			case string:
				rec[pos[k]] = v
			case json.Number:
				rec[pos[k]] = v.String()
			default:
				return nil, fmt.Errorf("predict: %s: row %d: column %q: want a number, string or null", path, i, k)
			}
		}
		in.records = append(in.records, rec)
	}
	return in, nil
}

// labels returns each row's ground truth (1, 0, or -1 when unknown), or
// nil when the rows carry no label column.
func (in *predictInput) labels(md *serve.ModelMetadata) []int {
	label, _ := md.Parameters["label"].(string)
	pos, _ := md.Parameters["positive"].(string)
	neg, _ := md.Parameters["negative"].(string)
	var vals []string
	if in.body != nil {
		vals = serve.LabelValues(in.body, label)
	} else {
		for j, h := range in.header {
			if h == label {
				for _, r := range in.records {
					vals = append(vals, r[j])
				}
			}
		}
	}
	if vals == nil {
		return nil
	}
	out := make([]int, len(vals))
	for i, v := range vals {
		switch {
		case v == pos || (pos == "1" && (v == "1.0" || v == "1.")):
			out[i] = 1
		case v == neg || (neg == "0" && (v == "0.0" || v == "0.")):
			out[i] = 0
		default:
			out[i] = -1
		}
	}
	return out
}

// printPredictions prints one line per row, the top contributions when
// explained, and the accuracy when the rows carry labels.
func printPredictions(w io.Writer, truth, pred []int, ex []serve.Explanation, top int) error {
	if truth != nil && len(truth) != len(pred) {
		truth = nil // the body's rows could not be matched to its labels
	}
	right, known := 0, 0
	for i, p := range pred {
		if truth == nil {
			fmt.Fprintf(w, "Predicted: %d\n", p)
		} else if truth[i] < 0 {
			fmt.Fprintf(w, "Ground truth/Predicted: ?/%d\n", p)
		} else {
			fmt.Fprintf(w, "Ground truth/Predicted: %d/%d\n", truth[i], p)
			known++
			if truth[i] == p {
				right++
			}
		}
		if i < len(ex) {
			printExplanation(w, ex[i], top)
		}
	}
	if known > 0 {
		_, err := fmt.Fprintf(w, "Accuracy: %.2f%% (%d of %d)\n", 100*float64(right)/float64(known), right, known)
		return err
	}
	return nil
}

func printExplanation(w io.Writer, e serve.Explanation, top int) {
	fmt.Fprintf(w, "  probability %.4f, logit %.4f = intercept %.4f + contributions:\n",
		e.Probability, e.Logit, e.Intercept)
	for k, c := range e.Contributions {
		if k == top {
			break
		}
		fmt.Fprintf(w, "    %-20s %+.4f\n", c.Column, c.Contribution)
	}
}
