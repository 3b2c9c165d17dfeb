// Package policy holds the watchdog's configuration and decides, for each finding, whether to
// alert and whether remediation may act: modes, allow and protect lists by ARN, per-rule
// overrides and the rule that the watchdog never acts on its own calls.
package policy

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Mode says what remediation does.
type Mode string

// Modes. Approve waits for a person (see the Slack control room); the others act alone.
const (
	Off     Mode = "off"
	DryRun  Mode = "dry-run"
	Auto    Mode = "auto"
	Approve Mode = "approve"
)

// ParseMode reads a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Off, DryRun, Auto, Approve:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want off, dry-run, auto or approve)", s)
}

// UnmarshalYAML checks the mode name.
func (m *Mode) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseMode(n.Value)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// AppID is the SDK application ID the watchdog sends; it appears in the user agent of every
// call the watchdog makes ("app/iam-watchdog"), for people reading CloudTrail. Anyone can send
// it (AWS_SDK_UA_APP_ID), so no decision ever reads it.
const AppID = "iam-watchdog"

// Allowlist lists principals (actors) and resources (targets) by ARN, for allow and protect
// alike: ARNs match exactly, except that IAM user, group and role names match without regard
// to case, as IAM tells them apart (see SameARN).
type Allowlist struct {
	Actors  []string `yaml:"actors"`
	Targets []string `yaml:"targets"`
}

// RuleConfig overrides the global settings for one rule.
type RuleConfig struct {
	Enabled  *bool            `yaml:"enabled"`
	Mode     Mode             `yaml:"mode"`
	Severity *detect.Severity `yaml:"severity"`
	Allow    Allowlist        `yaml:"allow"`
	Protect  Allowlist        `yaml:"protect"`
	// Threshold counts a caller's findings before posting (routing.go).
	Threshold *Threshold `yaml:"threshold"`
}

// Config is the one configuration of the watchdog, shared by the Lambda and the CLI.
type Config struct {
	// Mode is the default remediation mode: off, dry-run (the default), auto or approve.
	Mode Mode `yaml:"mode"`
	// QuarantinePolicyARN is the deny-unless-MFA managed policy quarantine_user attaches.
	QuarantinePolicyARN string `yaml:"quarantine_policy_arn"`
	// SelfRoleARNs are the watchdog's own roles: calls from them (or from sessions of them)
	// are neither alerted nor acted on, so the watchdog cannot loop on its own reverts.
	SelfRoleARNs []string `yaml:"self_role_arns"`
	// Allow lists actors and targets never acted on or alerted about: trusted automation
	// nobody wants to hear about.
	Allow Allowlist `yaml:"allow"`
	// Protect lists actors and targets always alerted about and never acted on: a protected
	// actor's changes are never reverted, and a protected target is never touched (break-glass
	// users that must keep their access, and be watched).
	Protect Allowlist `yaml:"protect"`
	// Rules holds per-rule overrides keyed by rule ID.
	Rules map[string]RuleConfig `yaml:"rules"`
	// AdminGroups names the IAM groups whose members are administrators, for
	// admin-group-membership. Groups whose name contains "admin" count without being listed.
	AdminGroups []string `yaml:"admin_groups"`
	// MemberRoleName is the role the watchdog assumes in member accounts (MEMBER_ROLE_NAME),
	// a path allowed; its sessions named iam-watchdog there, in accounts other than the home
	// account, are the watchdog's own calls.
	MemberRoleName string `yaml:"member_role_name"`
	// TrailBuckets are the S3 buckets CloudTrail delivers to, for cloudtrail-logs-expiring.
	TrailBuckets []string `yaml:"trail_buckets"`
	// Slack configures the buttons on alerts and flood control.
	Slack SlackConfig `yaml:"slack"`
	// StateKeyARN is the KMS HMAC key the state records are authenticated with (the stack's
	// StateKeyArn output): required with `--state dynamodb://…`, optional for a local file.
	StateKeyARN string `yaml:"state_key_arn"`
	// UndoGrace is how long after `watchdog undo` put something back the undoer's own change
	// re-applying exactly that is not reverted; unset means DefaultUndoGrace, 0 turns it off.
	UndoGrace *time.Duration `yaml:"undo_grace"`
	// Audit configures `watchdog audit` and the scheduled audit (audit.go).
	Audit AuditConfig `yaml:"audit"`
}

// DefaultUndoGrace applies when undo_grace is not set: time for `watchdog undo` to make its
// call after it recorded its undo marker, with room for the two clocks to disagree.
const DefaultUndoGrace = 15 * time.Minute

// maxUndoGrace bounds undo_grace: the longer it is, the longer an undoer's later change to the
// same target escapes remediation.
const maxUndoGrace = time.Hour

// UndoGracePeriod is the undo grace period in force.
func (c *Config) UndoGracePeriod() time.Duration {
	if c.UndoGrace == nil {
		return DefaultUndoGrace
	}
	return *c.UndoGrace
}

// Detection is the part of the configuration the rules read.
func (c *Config) Detection() detect.Settings {
	return detect.Settings{
		AdminGroups:    slices.Clone(c.AdminGroups),
		SelfRoleARNs:   slices.Clone(c.SelfRoleARNs),
		MemberRoleName: c.MemberRoleName,
		TrailBuckets:   slices.Clone(c.TrailBuckets),
	}
}

// Default is the configuration used when none is given: alert on everything, act on nothing.
func Default() Config { return Config{Mode: DryRun} }

// Load reads and validates a YAML config file. Each problem reads FILE:LINE: KEY: MESSAGE.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, inFile(path, err)
	}
	return c, nil
}

// Parse reads and validates YAML. Every problem is reported at once, in file order, as a
// *ConfigError with its line and key path: unknown keys (with the nearest known key), values of
// the wrong kind, and what Validate refuses.
func Parse(data []byte) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, syntaxError(data, err)
	}
	if p := checkDepth(&doc); p != nil {
		return Config{}, p
	}
	problems := checkDocument(&doc)
	c := Default()
	if doc.Kind != 0 {
		// Decoded even when the check found problems, so that Validate can report the rest in
		// the same pass; the decoder's own error then repeats the check's.
		if err := doc.Decode(&c); err != nil && len(problems) == 0 {
			problems = append(problems, &ConfigError{Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
		}
	}
	for _, p := range c.problems(detect.Rules()) {
		if !slices.ContainsFunc(problems, func(q *ConfigError) bool { return within(p.at, q.at) }) {
			p.Line = lineOf(&doc, p.at)
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b *ConfigError) int { return a.Line - b.Line })
		return Config{}, joinProblems(problems)
	}
	return c, nil
}

// within reports whether path is at or under the key path under (a value the check refused
// leaves its zero in the decoded config, which Validate must not refuse a second time).
func within(path, under string) bool {
	rest, ok := strings.CutPrefix(path, under)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[' || under == "")
}

// maxDepth is how deep Parse lets lists and mappings nest. No key of a config is more than five
// deep (rules.<id>.allow.actors is a list in three mappings in the document's), so deeper nesting
// is an error whatever it holds; refused first, it is named for what it is, with the line where
// it goes too deep, and nothing after walks nodes thousands deep.
const maxDepth = 64

// checkDepth refuses lists and mappings nested more than maxDepth deep, naming the top-level key
// they are under and the line and column of the one too deep.
func checkDepth(doc *yaml.Node) *ConfigError {
	var tooDeep func(n *yaml.Node, depth int) *yaml.Node
	tooDeep = func(n *yaml.Node, depth int) *yaml.Node {
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			if depth++; depth > maxDepth {
				return n
			}
		}
		for _, c := range n.Content {
			if deep := tooDeep(c, depth); deep != nil {
				return deep
			}
		}
		return nil
	}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	for i, c := range root.Content {
		deep := tooDeep(c, 1)
		if deep == nil {
			continue
		}
		key := ""
		if root.Kind == yaml.MappingNode {
			key = root.Content[i-i%2].Value
		}
		return &ConfigError{Line: deep.Line, Key: key, at: key,
			Msg: fmt.Sprintf("lists and mappings nested more than %d deep (column %d)", maxDepth, deep.Column)}
	}
	return nil
}

// iamGroupName is what IAM accepts as a group name.
// Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html
var iamGroupName = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// iamRoleNameWithPath is a role name (1-64 of IAM's name characters) after an optional path.
// Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
var iamRoleNameWithPath = regexp.MustCompile(`^([\x21-\x7e]+/)*[\w+=,.@-]{1,64}$`)

// selfRoleARN is an IAM role or user ARN in a twelve-digit account.
var selfRoleARN = regexp.MustCompile(`^arn:[a-z-]+:iam::\d{12}:(role|user)/.+$`)

// kmsKeyARN is the ARN of a KMS key by its ID (not an alias, which whoever may UpdateAlias
// could point at a key of their own).
var kmsKeyARN = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)

// CheckStateKeyARN checks the state key's ARN: a KMS key ARN naming the key by ID, so that the
// records are checked with exactly the stack's key, in its account.
func CheckStateKeyARN(arn string) error {
	if !kmsKeyARN.MatchString(arn) {
		return fmt.Errorf("%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID, the stack's StateKeyArn output; an alias or a bare key ID is not enough)", arn)
	}
	return nil
}

// IsRoleARN reports whether s is what self_role_arns accepts: an IAM role (or user) ARN in a
// twelve-digit account.
func IsRoleARN(s string) bool { return selfRoleARN.MatchString(s) }

// s3BucketName is what S3 accepts as a general purpose bucket name.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
var s3BucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// Validate checks values that YAML types cannot: ARNs, names, rule IDs and mode combinations.
// Every error names its key; Parse adds the line.
func (c *Config) Validate(rules []detect.Rule) error {
	return joinProblems(c.problems(rules))
}

func (c *Config) problems(rules []detect.Rule) []*ConfigError {
	var errs []*ConfigError
	if c.Mode == "" {
		c.Mode = DryRun
	}
	checkARNs := func(key string, arns []string) {
		for i, a := range arns {
			if !strings.HasPrefix(a, "arn:") || strings.Count(a, ":") < 5 {
				errs = append(errs, fieldError(fmt.Sprintf("%s[%d]", key, i), "%q is not an ARN (allow and protect list ARNs: no wildcards, no names alone)", a))
			}
		}
	}
	checkLists := func(scope string, allow, protect Allowlist) {
		checkARNs(scope+"allow.actors", allow.Actors)
		checkARNs(scope+"allow.targets", allow.Targets)
		checkARNs(scope+"protect.actors", protect.Actors)
		checkARNs(scope+"protect.targets", protect.Targets)
		// allow would hide the alerts protect promises: one list or the other.
		for _, l := range []struct {
			kind           string
			allow, protect []string
		}{{"actors", allow.Actors, protect.Actors}, {"targets", allow.Targets, protect.Targets}} {
			for i, p := range l.protect {
				if j := slices.IndexFunc(l.allow, func(a string) bool { return SameARN(a, p) }); j >= 0 {
					errs = append(errs, fieldError(fmt.Sprintf("%sprotect.%s[%d]", scope, l.kind, i), "%q is also %sallow.%s[%d], which would hide the alerts protect keeps: list it in one of them", p, scope, l.kind, j))
				}
			}
		}
	}
	for i, a := range c.SelfRoleARNs {
		if !selfRoleARN.MatchString(a) {
			errs = append(errs, fieldError(fmt.Sprintf("self_role_arns[%d]", i), "%q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME); the watchdog's own calls are known by exact ARNs", a))
		}
	}
	checkLists("", c.Allow, c.Protect)
	if a := c.QuarantinePolicyARN; a != "" && (!strings.HasPrefix(a, "arn:") || !strings.Contains(a, ":policy/")) {
		errs = append(errs, fieldError("quarantine_policy_arn", "%q is not a managed policy ARN (arn:aws:iam::ACCOUNT:policy/NAME)", a))
	}
	if n := c.MemberRoleName; n != "" && !iamRoleNameWithPath.MatchString(strings.Trim(n, "/")) {
		errs = append(errs, fieldError("member_role_name", "%q is not an IAM role name (1-64 of letters, digits and +=,.@_-, after an optional path)", n))
	}
	for i, g := range c.AdminGroups {
		if !iamGroupName.MatchString(g) {
			errs = append(errs, fieldError(fmt.Sprintf("admin_groups[%d]", i), "%q is not an IAM group name (1-128 of letters, digits and +=,.@_-)", g))
		}
	}
	for i, b := range c.TrailBuckets {
		switch {
		case strings.HasPrefix(b, "arn:"):
			errs = append(errs, fieldError(fmt.Sprintf("trail_buckets[%d]", i), "%q is an ARN; give the bucket's name", b))
		case !s3BucketName.MatchString(b):
			errs = append(errs, fieldError(fmt.Sprintf("trail_buckets[%d]", i), "%q is not an S3 bucket name (3-63 of lower-case letters, digits, dots and hyphens)", b))
		}
	}
	if c.StateKeyARN != "" {
		if err := CheckStateKeyARN(c.StateKeyARN); err != nil {
			errs = append(errs, fieldError("state_key_arn", "%v", err))
		}
	}
	errs = append(errs, c.Slack.validate()...)
	if g := c.UndoGracePeriod(); g < 0 || g > maxUndoGrace {
		errs = append(errs, fieldError("undo_grace", "%s is outside 0 (off) to %s", g, maxUndoGrace))
	}
	errs = append(errs, c.Audit.validate()...)
	known := map[string]bool{}
	var ruleIDs []string
	for _, r := range rules {
		known[r.ID] = true
		ruleIDs = append(ruleIDs, r.ID)
	}
	ids := slices.Sorted(maps.Keys(c.Rules))
	for _, id := range ids {
		rc := c.Rules[id]
		if !known[id] {
			errs = append(errs, &ConfigError{Key: "rules", at: "rules." + id,
				Msg: "unknown rule " + quoted(id) + cmp.Or(didYouMean(id, ruleIDs), " (see `watchdog rules`)")})

		}
		checkLists("rules."+id+".", rc.Allow, rc.Protect)
		errs = append(errs, validateThreshold(id, rc.Threshold)...)
	}
	return errs
}

// ModeFor is the remediation mode for a rule.
func (c *Config) ModeFor(rule string) Mode {
	if rc, ok := c.Rules[rule]; ok && rc.Mode != "" {
		return rc.Mode
	}
	if c.Mode == "" {
		return DryRun
	}
	return c.Mode
}

// IsSelf reports whether a finding's actor is the watchdog itself, by exact ARNs only: one of
// its roles (self_role_arns, WATCHDOG_ROLE_ARN), as the actor or as the issuer of the actor's
// session; or its session in a member account, arn:…:sts::ACCOUNT:assumed-role/<member role>/
// iam-watchdog of the role arn:…:iam::ACCOUNT:role/<member_role_name> in an account other than
// the home account (the account of the self role ARNs). In the home account anyone may create a
// role of that name and pick that session name, so nothing there is taken for the member role,
// and without self role ARNs there is no home account to tell apart, so no member-role session
// is self. A role ARN cannot be forged in CloudTrail; a name or session name can be chosen.
func (c *Config) IsSelf(a detect.Actor) bool {
	for _, r := range c.SelfRoleARNs {
		if r != "" && (a.ARN == r || a.IssuerARN == r) {
			return true
		}
	}
	return c.isMemberSession(a)
}

func (c *Config) isMemberSession(a detect.Actor) bool {
	name := strings.Trim(c.MemberRoleName, "/")
	if name == "" || a.IssuerARN == "" {
		return false
	}
	home := map[string]bool{}
	for _, r := range c.SelfRoleARNs {
		if parts := strings.SplitN(r, ":", 6); len(parts) == 6 {
			home[parts[4]] = true
		}
	}
	parts := strings.SplitN(a.IssuerARN, ":", 6)
	if len(home) == 0 || len(parts) != 6 || parts[0] != "arn" {
		return false
	}
	partition, account := parts[1], parts[4]
	if home[account] || !accountID.MatchString(account) {
		return false
	}
	base := name[strings.LastIndexByte(name, '/')+1:]
	return a.IssuerARN == "arn:"+partition+":iam::"+account+":role/"+name &&
		a.ARN == "arn:"+partition+":sts::"+account+":assumed-role/"+base+"/"+remediate.SessionName
}

var accountID = regexp.MustCompile(`^\d{12}$`)
