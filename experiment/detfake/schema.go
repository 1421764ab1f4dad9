package detfake

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// kind is the JSON type a field must have on the wire.
type kind int

const (
	kString     kind = iota // JSON string
	kInt32                  // JSON integer number
	kInt64Str               // int64 as a JSON string (the gateway takes numbers; flagged here)
	kNumber                 // JSON number
	kBool                   // JSON bool
	kObject                 // any JSON object (google.protobuf.Struct)
	kStrings                // list of strings
	kTime                   // RFC 3339 string
	kBase64                 // base64 string (bytes)
	kSizes                  // map of path to int64 string
	kMetrics                // map of name to number or "NaN"/"Infinity"/"-Infinity"
	kAny                    // any JSON value
	kNullOrStr              // JSON string or null
	kNested                 // object checked against sub
	kNestedList             // list of objects checked against sub
)

// field describes one JSON field of a request body.
type field struct {
	kind     kind
	required bool
	enum     []string
	sub      schema
}

// schema maps the JSON names of a message's fields to their description.
// Fields absent from the schema are violations: the real master ignores
// them silently, which hides misspelt fields.
type schema map[string]field

var (
	int64Re = regexp.MustCompile(`^-?[0-9]+$`)
	uuidRe  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// check returns the problems of v against s; where prefixes field paths.
func (s schema) check(v map[string]any, where string) []string {
	var problems []string
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := s[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s%s: unknown field", where, k))
			continue
		}
		problems = append(problems, f.check(v[k], where+k)...)
	}
	for k, f := range s {
		if _, ok := v[k]; f.required && !ok {
			problems = append(problems, fmt.Sprintf("%s%s: required field missing", where, k))
		}
	}
	return problems
}

func (f field) check(v any, path string) []string {
	bad := func(format string, args ...any) []string {
		return []string{path + ": " + fmt.Sprintf(format, args...)}
	}
	switch f.kind {
	case kString, kNullOrStr, kTime, kBase64:
		return f.checkString(v, path)
	case kInt32:
		n, ok := v.(float64)
		if !ok || n != float64(int32(n)) {
			return bad("want an int32 number, got %T %v", v, v)
		}
	case kInt64Str:
		s, ok := v.(string)
		if !ok || !int64Re.MatchString(s) {
			return bad("want an int64 as a JSON string, got %T %v", v, v)
		}
	case kNumber:
		if _, ok := v.(float64); !ok {
			return bad("want a number, got %T", v)
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return bad("want a bool, got %T", v)
		}
	case kObject:
		if _, ok := v.(map[string]any); !ok {
			return bad("want an object, got %T", v)
		}
	case kStrings:
		return checkStrings(v, path)
	case kSizes, kMetrics:
		return f.checkMap(v, path)
	case kNested:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("want an object, got %T", v)
		}
		return f.sub.check(m, path+".")
	case kNestedList:
		return f.checkList(v, path)
	}
	return nil
}

func (f field) checkString(v any, path string) []string {
	if v == nil && f.kind == kNullOrStr {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return []string{fmt.Sprintf("%s: want a string, got %T", path, v)}
	}
	if len(f.enum) > 0 && !contains(f.enum, s) {
		return []string{fmt.Sprintf("%s: %q is not one of %v", path, s, f.enum)}
	}
	if f.kind == kTime {
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return []string{fmt.Sprintf("%s: %q is not RFC 3339", path, s)}
		}
	}
	return nil
}

func checkStrings(v any, path string) []string {
	l, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want a list of strings, got %T", path, v)}
	}
	for i, e := range l {
		if _, ok := e.(string); !ok {
			return []string{fmt.Sprintf("%s[%d]: want a string, got %T", path, i, e)}
		}
	}
	return nil
}

func (f field) checkMap(v any, path string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want an object, got %T", path, v)}
	}
	var problems []string
	for k, e := range m {
		p := path + "." + k
		if f.kind == kSizes {
			problems = append(problems, field{kind: kInt64Str}.check(e, p)...)
			continue
		}
		switch x := e.(type) {
		case float64:
		case string:
			if x != "NaN" && x != "Infinity" && x != "-Infinity" {
				problems = append(problems, p+": metric strings must be NaN or ±Infinity")
			}
		default:
			problems = append(problems, fmt.Sprintf("%s: want a number, got %T", p, e))
		}
	}
	return problems
}

func (f field) checkList(v any, path string) []string {
	l, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want a list, got %T", path, v)}
	}
	var problems []string
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s[%d]: want an object", path, i))
			continue
		}
		problems = append(problems, f.sub.check(m, path+"["+strconv.Itoa(i)+"].")...)
	}
	return problems
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// Request body schemas, from the proto messages (JSON names).
var (
	loginSchema = schema{
		"username": {kind: kString, required: true},
		"password": {kind: kString, required: true},
		"isHashed": {kind: kBool},
	}
	trialMetricsSchema = schema{
		"trialId":        {kind: kInt32},
		"trialRunId":     {kind: kInt32, required: true},
		"stepsCompleted": {kind: kInt32, required: true},
		"reportTime":     {kind: kTime},
		"metrics": {kind: kNested, required: true, sub: schema{
			"avgMetrics":   {kind: kMetrics, required: true},
			"batchMetrics": {kind: kAny},
		}},
	}
	metricsSchema = schema{
		"metrics": {kind: kNested, required: true, sub: trialMetricsSchema},
		"group":   {kind: kString, required: true},
	}
	checkpointSchema = schema{
		"uuid":         {kind: kString, required: true},
		"taskId":       {kind: kString, required: true},
		"allocationId": {kind: kNullOrStr},
		"reportTime":   {kind: kTime, required: true},
		"resources":    {kind: kSizes, required: true},
		"metadata":     {kind: kObject, required: true},
		"state":        {kind: kString, required: true, enum: []string{"STATE_COMPLETED"}},
		"training":     {kind: kObject, required: true},
		"storageId":    {kind: kInt32},
	}
	runsStartSchema = schema{
		"runId":             {kind: kInt32, required: true},
		"checkpointStorage": {kind: kObject},
	}
	progressSchema = schema{
		"progress": {kind: kNumber, required: true},
		"isRaw":    {kind: kBool},
		"is_raw":   {kind: kBool},
	}
	earlyExitSchema = schema{
		"reason": {kind: kString, required: true,
			enum: []string{"EXITED_REASON_INVALID_HP", "EXITED_REASON_INIT_INVALID_HP"}},
	}
	emptySchema       = schema{"allocationId": {kind: kString}}
	completedOpSchema = schema{
		"op": {kind: kNested, required: true,
			sub: schema{"length": {kind: kInt64Str, required: true}}},
		"searcherMetric": {kind: kAny, required: true},
	}
	fileSchema = schema{
		"path":    {kind: kString, required: true},
		"type":    {kind: kInt32, required: true},
		"content": {kind: kBase64, required: true},
		"mtime":   {kind: kInt64Str, required: true},
		"mode":    {kind: kInt32, required: true},
		"uid":     {kind: kInt32},
		"gid":     {kind: kInt32},
	}
	createExperimentSchema = schema{
		"config":          {kind: kString, required: true},
		"modelDefinition": {kind: kNestedList, sub: fileSchema},
		"activate":        {kind: kBool},
		"projectId":       {kind: kInt32},
		"validateOnly":    {kind: kBool},
		"parentId":        {kind: kInt32},
		"template":        {kind: kString},
		"unmanaged":       {kind: kBool},
	}
	createTrialSchema = schema{
		"experimentId": {kind: kInt32, required: true},
		"hparams":      {kind: kObject},
		"unmanaged":    {kind: kBool},
	}
	putTrialSchema = schema{
		"createTrialRequest": {kind: kNested, required: true, sub: createTrialSchema},
		"externalTrialId":    {kind: kString, required: true},
	}
	startTrialSchema = schema{
		"trialId": {kind: kInt32, required: true},
		"resume":  {kind: kBool},
	}
	patchTrialSchema = schema{
		"trialId": {kind: kInt32, required: true},
		"state": {kind: kString, enum: []string{"STATE_RUNNING", "STATE_COMPLETED",
			"STATE_ERROR", "STATE_CANCELED"}},
	}
	createModelSchema = schema{
		"name":          {kind: kString, required: true},
		"description":   {kind: kString},
		"metadata":      {kind: kObject},
		"labels":        {kind: kStrings},
		"workspaceName": {kind: kString},
		"workspaceId":   {kind: kInt32},
		"notes":         {kind: kString},
	}
	registerSchema = schema{
		"modelName":      {kind: kString, required: true},
		"checkpointUuid": {kind: kString, required: true},
		"name":           {kind: kString},
		"comment":        {kind: kString},
		"metadata":       {kind: kObject},
		"labels":         {kind: kStrings},
		"notes":          {kind: kString},
	}
)
