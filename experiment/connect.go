package experiment

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/churn-pdk/churn/trial"
)

// ConnectOptions say how to reach and authenticate to a master.
type ConnectOptions struct {
	// Master is the master's address (DET_MASTER).
	Master string
	// Token is a user session token (DET_USER_TOKEN); when set, no login.
	Token Secret
	// User and Password log in when there is no Token; User "" means
	// "determined", Determined's default user.
	User     string
	Password Secret
	// Logger receives debug lines; nil discards.
	Logger *slog.Logger
}

// Connect returns a client of the master, authenticated as a user: with
// the token when given, else by logging in.
func Connect(ctx context.Context, o ConnectOptions) (*Client, error) {
	c, err := NewClient(o.Master, UserToken(o.Token), &Options{Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	if !o.Token.Empty() {
		return c, nil
	}
	user := o.User
	if user == "" {
		user = "determined"
	}
	if err := c.Login(ctx, user, o.Password); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckEntrypoint catches a common submission mistake: an entrypoint that
// runs "./prog" when the model definition has no executable prog.
func CheckEntrypoint(configText []byte, files []File) error {
	var cfg struct {
		Entrypoint any `json:"entrypoint"`
	}
	if err := yaml.Unmarshal(configText, &cfg); err != nil {
		return fmt.Errorf("experiment: config: %w", err)
	}
	var first string
	switch e := cfg.Entrypoint.(type) {
	case string:
		first, _, _ = strings.Cut(strings.TrimSpace(e), " ")
	case []any:
		if len(e) > 0 {
			first, _ = e[0].(string)
		}
	case nil:
		return &ConfigError{Field: "entrypoint", Reason: "missing"}
	}
	prog, ok := strings.CutPrefix(first, "./")
	if !ok {
		return nil
	}
	for _, f := range files {
		if f.Path == prog && f.Type == FileTypeRegular {
			if f.Mode&0o111 == 0 {
				return &ConfigError{Field: "entrypoint",
					Reason: fmt.Sprintf("%s is in the model definition but not executable", prog)}
			}
			return checkLinuxAMD64(prog, f.Content)
		}
	}
	return &ConfigError{Field: "entrypoint",
		Reason: fmt.Sprintf("runs ./%s, which the model definition lacks", prog)}
}

// checkLinuxAMD64 accepts a script or a linux/amd64 ELF executable: what
// a trial container can run.
func checkLinuxAMD64(name string, content []byte) error {
	if bytes.HasPrefix(content, []byte("#!")) {
		return nil
	}
	f, err := elf.NewFile(bytes.NewReader(content))
	if err != nil {
		return &ConfigError{Field: "entrypoint", Reason: fmt.Sprintf(
			"%s is not a Linux executable; build it with GOOS=linux GOARCH=amd64", name)}
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return &ConfigError{Field: "entrypoint", Reason: fmt.Sprintf(
			"%s is built for %v, not linux/amd64; build it with GOOS=linux GOARCH=amd64",
			name, f.Machine)}
	}
	return nil
}

// TrainUnmanaged runs the churn training loop in this process and reports
// it to the master behind client as an unmanaged experiment; the trial is
// marked COMPLETED, or ERROR when the run fails.
func TrainUnmanaged(ctx context.Context, client *Client, opts UnmanagedOptions,
	s trial.Settings) (*trial.Result, error) {
	u, err := NewUnmanagedContext(ctx, client, opts)
	if err != nil {
		return nil, err
	}
	if s.Logger == nil {
		s.Logger = u.log
	}
	res, runErr := trial.Run(ctx, u, &s)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	cerr := u.Close(cctx, runErr)
	if runErr != nil {
		return res, runErr
	}
	return res, cerr
}
