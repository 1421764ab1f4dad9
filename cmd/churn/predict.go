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
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/serve"
)

// Defaults of `churn predict`'s batching.
const (
	// defaultBatchSize is the most rows one request carries.
	defaultBatchSize = 1000
	// defaultBatchBytes is the largest request body sent: the limit a
	// `churn serve` started with its defaults accepts.
	defaultBatchBytes = serve.DefaultMaxBodyBytes
)

// maxListedFailures is how many failed batches a predict error names.
const maxListedFailures = 5

// predictOptions holds the flags of `churn predict`.
type predictOptions struct {
	url        string
	modelName  string
	protocol   string
	explain    bool
	top        int
	timeout    time.Duration
	batchSize  int
	batchBytes int64
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
	f.IntVar(&o.batchSize, "batch-size", defaultBatchSize, "most rows sent in one request")
	f.Int64Var(&o.batchBytes, "batch-bytes", defaultBatchBytes,
		"largest request body sent; a batch over it is split "+
			"(churn serve's default limit)")
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
	case o.batchSize < 1:
		return fmt.Errorf("predict: --batch-size %d: want >= 1", o.batchSize)
	case o.batchBytes < 1:
		return fmt.Errorf("predict: --batch-bytes %d: want >= 1", o.batchBytes)
	}
	return nil
}

func (a *app) predictCmd() *cobra.Command {
	o := &predictOptions{}
	cmd := &cobra.Command{
		Use:   "predict --url URL [--model_name NAME] [--protocol v1|v2] [--explain] FILE",
		Short: "Send rows from a CSV or JSON file to a predictor and print its answers",
		Long: "Send rows to a running predictor (churn serve, or the model on KServe).\n" +
			"FILE is CSV (read as `churn train` reads it; values sent as read) or JSON:\n" +
			"a request body sent as it is, or a list of row objects. Rows go in batches\n" +
			"of at most --batch-size rows and --batch-bytes bytes; a batch the server\n" +
			"refuses is reported with its file lines and the others still run. When\n" +
			"the rows carry the label, each line reads 'Ground truth/Predicted: 1/0'\n" +
			"and the accuracy over all batches follows.",
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
	source  string
	header  []string
	records [][]string
	lines   []int  // lines[i] is the file line records[i] starts on; nil for JSON
	body    []byte // non-nil: send unchanged
}

// predictRun sends a file's rows to one model and tallies the answers.
type predictRun struct {
	o     *predictOptions
	c     *serve.Client
	md    *serve.ModelMetadata
	w     io.Writer
	size  int // rows in the next batch; shrinks when a batch is over batchBytes
	right int
	known int
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
	p := &predictRun{o: o, c: c, md: md, w: a.stdout, size: o.batchSize}
	if in.body != nil {
		err = p.sendBody(ctx, in)
	} else {
		err = p.sendBatches(ctx, in)
	}
	if aerr := p.printAccuracy(); err == nil {
		err = aerr
	}
	return err
}

// onlyModel asks the server for its models and returns the only one.
func onlyModel(ctx context.Context, c *serve.Client) (string, error) {
	names, err := c.Models(ctx)
	if err != nil {
		return "", fmt.Errorf("predict: listing models: %w", err)
	}
	if len(names) != 1 {
		return "", fmt.Errorf("predict: the server lists models %q; pick one with --model_name",
			names)
	}
	return names[0], nil
}

// sendBody sends a request body read from the file, unchanged and whole.
func (p *predictRun) sendBody(ctx context.Context, in *predictInput) error {
	pred, ex, err := p.send(ctx, in.body)
	if err != nil {
		return fmt.Errorf("predict: %s: %w", in.source, err)
	}
	truth := p.truth(serve.LabelValues(in.body, p.label()))
	if len(truth) != len(pred) {
		truth = nil // the body's rows could not be matched to its labels
	}
	return p.print(truth, pred, ex)
}

// sendBatches sends the rows in batches. A batch the server refuses is
// noted and the next one sent; a server that stops answering ends the run.
func (p *predictRun) sendBatches(ctx context.Context, in *predictInput) error {
	truth := p.truth(in.column(p.label()))
	var failed []error
	batches, lost := 0, 0
	for lo := 0; lo < len(in.records); {
		hi, body, err := p.nextBody(in, lo)
		if err != nil {
			return err
		}
		batches++
		pred, ex, err := p.send(ctx, body)
		if err == nil && len(pred) != hi-lo {
			err = fmt.Errorf("the answer holds %d predictions for %d rows", len(pred), hi-lo)
		}
		if err != nil {
			err = in.batchErr(lo, hi, err)
			if serve.IsConnError(err) {
				return err
			}
			failed, lost = append(failed, err), lost+hi-lo
		} else if err := p.print(sub(truth, lo, hi), pred, ex); err != nil {
			return err
		}
		lo = hi
	}
	return batchFailures(failed, batches, lost)
}

// batchFailures joins the errors of failed batches, naming at most
// maxListedFailures of them.
func batchFailures(failed []error, batches, lost int) error {
	if len(failed) == 0 {
		return nil
	}
	if batches == 1 {
		return failed[0]
	}
	head := fmt.Errorf("predict: %d of %d batches failed, %d rows not predicted",
		len(failed), batches, lost)
	shown := failed[:min(len(failed), maxListedFailures)]
	errs := append([]error{head}, shown...)
	if more := len(failed) - len(shown); more > 0 {
		errs = append(errs, fmt.Errorf("predict: and %d more failed batches", more))
	}
	return errors.Join(errs...)
}

// sub returns truth[lo:hi], or nil when truth is nil.
func sub(truth []int, lo, hi int) []int {
	if truth == nil {
		return nil
	}
	return truth[lo:hi]
}

// nextBody builds the request of the batch starting at row lo: up to
// p.size rows, fewer when their body would be over --batch-bytes. It
// returns the end of the batch and its body.
func (p *predictRun) nextBody(in *predictInput, lo int) (int, []byte, error) {
	hi := min(lo+p.size, len(in.records))
	for {
		body, err := p.build(in.header, in.records[lo:hi])
		if err != nil {
			return 0, nil, fmt.Errorf("predict: %s: %s: %w", in.source, in.rows(lo, hi), err)
		}
		if int64(len(body)) <= p.o.batchBytes {
			return hi, body, nil
		}
		if hi-lo == 1 {
			return 0, nil, fmt.Errorf("predict: %s: %s: one row makes a %d-byte request, "+
				"over --batch-bytes %d", in.source, in.rows(lo, hi), len(body), p.o.batchBytes)
		}
		hi = lo + (hi-lo)/2
		p.size = hi - lo
	}
}

// build makes the request body of records in the run's protocol.
func (p *predictRun) build(header []string, records [][]string) ([]byte, error) {
	if p.o.protocol == "v1" {
		return serve.V1Body(header, records, "")
	}
	return serve.V2Body(p.md, "churn-predict", header, records)
}

// send posts one body and returns each row's predicted label.
func (p *predictRun) send(ctx context.Context, body []byte) ([]int, []serve.Explanation,
	error) {
	if p.o.protocol == "v2" {
		pred, err := predictV2(ctx, p.c, body)
		return pred, nil, err
	}
	return predictV1(ctx, p.c, body, p.o.explain)
}

func predictV1(ctx context.Context, c *serve.Client, body []byte,
	explain bool) ([]int, []serve.Explanation, error) {
	resp, err := c.Predict(ctx, body, explain)
	if err != nil {
		return nil, nil, err
	}
	pred := make([]int, len(resp.Predictions))
	for i, p := range resp.Predictions {
		if len(p) != 1 {
			return nil, nil, fmt.Errorf("prediction %d holds %d values, want 1", i, len(p))
		}
		if p[0] >= 0.5 {
			pred[i] = 1
		}
	}
	return pred, resp.Explanations, nil
}

func predictV2(ctx context.Context, c *serve.Client, body []byte) ([]int, error) {
	resp, err := c.Infer(ctx, body)
	if err != nil {
		return nil, err
	}
	out, ok := resp.Output(serve.OutputLabel)
	if !ok {
		return nil, fmt.Errorf("the answer has no %q output", serve.OutputLabel)
	}
	pred := make([]int, len(out.Data))
	for i, v := range out.Data {
		if v.String() == "1" {
			pred[i] = 1
		}
	}
	return pred, nil
}

// serverRow finds "row N" in a server's error message: the row of the
// request the error is about.
var serverRow = regexp.MustCompile(`\brow (\d+)\b`)

// batchErr says which rows of the file a failed batch [lo, hi) held and,
// when the server named a row of the request, which line of the file that
// row is.
func (in *predictInput) batchErr(lo, hi int, err error) error {
	var se *serve.StatusError
	if errors.As(err, &se) {
		if m := serverRow.FindStringSubmatch(se.Message); m != nil {
			if k, aerr := strconv.Atoi(m[1]); aerr == nil && k < hi-lo {
				return fmt.Errorf("predict: %s: %s (batch of %s): %w",
					in.source, in.rows(lo+k, lo+k+1), in.rows(lo, hi), err)
			}
		}
	}
	return fmt.Errorf("predict: %s: batch of %s: %w", in.source, in.rows(lo, hi), err)
}

// rows names records [lo, hi) by their file lines, or for JSON rows by
// their indexes in the list.
func (in *predictInput) rows(lo, hi int) string {
	first, last, what := lo, hi-1, "row"
	if in.lines != nil {
		first, last, what = in.lines[lo], in.lines[hi-1], "line"
	}
	if first == last {
		return fmt.Sprintf("%s %d", what, first)
	}
	return fmt.Sprintf("%ss %d-%d", what, first, last)
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
	return csvInput(path, b)
}

// utf8BOM is the byte order mark some tools write at the start of UTF-8 text.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// csvInput reads CSV text as the dataset package does: RFC 4180 with strict
// quotes, a leading byte order mark skipped, empty lines skipped, every
// record as long as the header. It keeps each record's file line.
func csvInput(path string, b []byte) (*predictInput, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, utf8BOM)))
	in := &predictInput{source: path}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("predict: %s: %w", path, err)
		}
		if in.header == nil {
			in.header = rec
			continue
		}
		line, _ := r.FieldPos(0)
		in.records = append(in.records, rec)
		in.lines = append(in.lines, line)
	}
	if len(in.records) == 0 {
		return nil, fmt.Errorf("predict: %s: no data rows", path)
	}
	return in, nil
}

// jsonInput takes a JSON object as a body to send unchanged and a list of
// row objects as rows.
func jsonInput(path string, b []byte) (*predictInput, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(b, utf8BOM))
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if !json.Valid(trimmed) {
			return nil, fmt.Errorf("predict: %s: not valid JSON", path)
		}
		return &predictInput{source: path, body: trimmed}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		return nil, fmt.Errorf("predict: %s: want a request body or a list of row objects: %w",
			path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("predict: %s: no rows", path)
	}
	in := &predictInput{source: path}
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
		rec, err := jsonRecord(r, pos, len(in.header))
		if err != nil {
			return nil, fmt.Errorf("predict: %s: row %d: %w", path, i, err)
		}
		in.records = append(in.records, rec)
	}
	return in, nil
}

// jsonRecord lays out one row object as a record of width values.
func jsonRecord(r map[string]any, pos map[string]int, width int) ([]string, error) {
	rec := make([]string, width)
	for k, v := range r {
		switch v := v.(type) {
		case nil:
		case string:
			rec[pos[k]] = v
		case json.Number:
			rec[pos[k]] = v.String()
		default:
			return nil, fmt.Errorf("column %q: want a number, string or null", k)
		}
	}
	return rec, nil
}

// column returns the values of the header column called name, or nil.
func (in *predictInput) column(name string) []string {
	for j, h := range in.header {
		if h == name {
			vals := make([]string, len(in.records))
			for i, r := range in.records {
				vals[i] = r[j]
			}
			return vals
		}
	}
	return nil
}

// label is the model's label column.
func (p *predictRun) label() string {
	label, _ := p.md.Parameters["label"].(string)
	return label
}

// truth turns label values into ground truth (1, 0, or -1 when unknown);
// nil when vals is.
func (p *predictRun) truth(vals []string) []int {
	if vals == nil {
		return nil
	}
	pos, _ := p.md.Parameters["positive"].(string)
	neg, _ := p.md.Parameters["negative"].(string)
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

// print prints one line per row and the top contributions when explained,
// and counts the rows whose label is known.
func (p *predictRun) print(truth, pred []int, ex []serve.Explanation) error {
	var buf bytes.Buffer
	for i, v := range pred {
		switch {
		case truth == nil:
			fmt.Fprintf(&buf, "Predicted: %d\n", v)
		case truth[i] < 0:
			fmt.Fprintf(&buf, "Ground truth/Predicted: ?/%d\n", v)
		default:
			fmt.Fprintf(&buf, "Ground truth/Predicted: %d/%d\n", truth[i], v)
			p.known++
			if truth[i] == v {
				p.right++
			}
		}
		if i < len(ex) {
			printExplanation(&buf, ex[i], p.o.top)
		}
	}
	_, err := p.w.Write(buf.Bytes())
	return err
}

// printAccuracy prints the accuracy over the rows whose label is known.
func (p *predictRun) printAccuracy() error {
	if p.known == 0 {
		return nil
	}
	_, err := fmt.Fprintf(p.w, "Accuracy: %.2f%% (%d of %d)\n",
		100*float64(p.right)/float64(p.known), p.right, p.known)
	return err
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
