package corpus

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// generator writes the records of one log file at a time.
type generator struct {
	cfg             Config
	tpl             templates
	rng             *rand.Rand
	account, region string
	scratch         []byte
	// sessions are the open sessions of each role: one session (name, key, start) serves many
	// calls, as in real trails, which is much of why CloudTrail logs compress well.
	sessions map[string]*session
}

type session struct {
	name, key string
	created   time.Time
	identity  []byte
}

type fileStats struct{ records, alerts, near int64 }

func (g *generator) reset(f logFile) {
	g.rng = rand.New(rand.NewPCG(g.cfg.Seed^f.seed, f.seed))
	g.account, g.region = f.account, f.region
	clear(g.sessions)
	if g.sessions == nil {
		g.sessions = map[string]*session{}
	}
}

// uniq is the random part of a log file's name.
func (g *generator) uniq() string { return g.alnum(16) }

// file writes f's records as CloudTrail writes a log file: {"Records":[…]} on one line, events
// of the interval before f.end in time order.
func (g *generator) file(buf *bytes.Buffer, f logFile) fileStats {
	var st fileStats
	start := f.end.Add(-g.cfg.Interval)
	// Times first, sorted, then the records; the count is chosen by the byte budget, so draw
	// times as the records are made, increasing by a random step of the mean gap.
	mean := g.cfg.Interval / time.Duration(max(1, f.budget/1400))
	at := start
	buf.WriteString(`{"Records":[`)
	for n := 0; n == 0 || int64(buf.Len()) < f.budget; n++ {
		if n > 0 {
			buf.WriteByte(',')
		}
		at = at.Add(time.Duration(g.rng.ExpFloat64() * float64(mean)))
		if !at.Before(f.end) {
			at = f.end.Add(-time.Second)
		}
		g.scratch = g.scratch[:0]
		switch r := g.rng.Float64(); {
		case r < g.cfg.AlertRate:
			g.scratch = g.instantiate(g.tpl.alerts[g.rng.IntN(len(g.tpl.alerts))], at, g.scratch)
			st.alerts++
		case r < 1.5*g.cfg.AlertRate && len(g.tpl.nearMisses) > 0:
			g.scratch = g.instantiate(g.tpl.nearMisses[g.rng.IntN(len(g.tpl.nearMisses))], at, g.scratch)
			st.near++
		default:
			g.scratch = g.noise(at, g.scratch)
		}
		buf.Write(g.scratch)
		st.records++
	}
	for _, k := range f.examples {
		g.scratch = g.scratch[:0]
		if k < len(g.tpl.alerts) {
			g.scratch = g.instantiate(g.tpl.alerts[k], at, g.scratch)
			st.alerts++
		} else {
			g.scratch = g.instantiate(g.tpl.nearMisses[k-len(g.tpl.alerts)], at, g.scratch)
			st.near++
		}
		buf.WriteByte(',')
		buf.Write(g.scratch)
		st.records++
	}
	buf.WriteString("]}")
	return st
}

// noise is one record of the kinds that fill real trails.
func (g *generator) noise(at time.Time, b []byte) []byte {
	w := g.rng.IntN(1000)
	switch {
	case w < 380:
		return g.roleRead(at, b)
	case w < 680:
		return g.s3Data(at, b)
	case w < 860:
		return g.serviceCall(at, b)
	case w < 920:
		return g.consoleRead(at, b)
	case w < 960:
		return g.userCall(at, b)
	case w < 999:
		return g.roleWrite(at, b)
	default:
		return g.deniedCall(at, b)
	}
}

// call is a record being written, field by field in CloudTrail's order.
type call struct {
	identity           []byte
	source, name       string
	ip, agent          string
	params, response   string // JSON, "null" when absent
	additional         string // JSON or ""
	readOnly           bool
	resources          string // JSON or ""
	eventType          string
	management         bool
	category           string
	errorCode, message string
	host               string // for tlsDetails; "" for none
	extra              string // more fields, with a leading comma
}

func (g *generator) write(at time.Time, c call, b []byte) []byte {
	b = append(b, `{"eventVersion":"1.10","userIdentity":`...)
	b = append(b, c.identity...)
	b = append(b, `,"eventTime":"`...)
	b = at.AppendFormat(b, time.RFC3339)
	b = append(b, `","eventSource":"`...)
	b = append(b, c.source...)
	b = append(b, `","eventName":"`...)
	b = append(b, c.name...)
	b = append(b, `","awsRegion":"`...)
	b = append(b, g.region...)
	b = append(b, `","sourceIPAddress":"`...)
	b = append(b, c.ip...)
	b = append(b, `","userAgent":`...)
	b = strconv.AppendQuote(b, c.agent)
	if c.errorCode != "" {
		b = append(b, `,"errorCode":"`...)
		b = append(b, c.errorCode...)
		b = append(b, `","errorMessage":`...)
		b = strconv.AppendQuote(b, c.message)
	}
	b = append(b, `,"requestParameters":`...)
	b = append(b, c.params...)
	b = append(b, `,"responseElements":`...)
	b = append(b, c.response...)
	if c.additional != "" {
		b = append(b, `,"additionalEventData":`...)
		b = append(b, c.additional...)
	}
	b = append(b, `,"requestID":"`...)
	b = append(b, g.uuid()...)
	b = append(b, `","eventID":"`...)
	b = append(b, g.uuid()...)
	b = append(b, `","readOnly":`...)
	b = strconv.AppendBool(b, c.readOnly)
	if c.resources != "" {
		b = append(b, `,"resources":`...)
		b = append(b, c.resources...)
	}
	b = append(b, `,"eventType":"`...)
	b = append(b, c.eventType...)
	b = append(b, `","managementEvent":`...)
	b = strconv.AppendBool(b, c.management)
	b = append(b, `,"recipientAccountId":"`...)
	b = append(b, g.account...)
	b = append(b, `","eventCategory":"`...)
	b = append(b, c.category...)
	b = append(b, '"')
	if c.host != "" {
		b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
		b = append(b, c.host...)
		b = append(b, `"}`...)
	}
	b = append(b, c.extra...)
	return append(b, '}')
}

// Roles that applications, pipelines and people assume, and the sessions they name.
var roles = []struct{ name, session string }{
	{"orders-api-TaskRole-7Z8X9C0V1B2N", "hex"},
	{"inventory-collector", "inventory-collector"},
	{"eks-prod-NodeInstanceRole-1Q2W3E4R5T6Y", "instance"},
	{"github-actions-deploy", "GitHubActions"},
	{"DatadogIntegrationRole", "DatadogAWSIntegration"},
	{"lambda-etl-role", "etl-nightly"},
	{"payments-worker-TaskRole-K8J7H6G5F4D3", "hex"},
}

var ssoRoles = []struct{ name, session string }{
	{"AWSReservedSSO_ReadOnlyAccess_8f2d1c4b5a6e7d90", "alice@example.com"},
	{"AWSReservedSSO_PowerUserAccess_3b7a9e1c2d4f6a8b", "bob@example.com"},
	{"AWSReservedSSO_ReadOnlyAccess_8f2d1c4b5a6e7d90", "carol@example.com"},
}

var sdkAgents = []string{
	"Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.215-225.859.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.84",
	"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0",
	"[aws-sdk-java/2.25.40 Linux/5.10.215-203.850.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.3+9-LTS Java/21.0.3 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy]",
	"aws-cli/2.15.40 Python/3.11.8 Linux/6.5.0-1018-azure exe/x86_64.ubuntu.22 prompt/off command/sts.get-caller-identity",
	"Datadog/1.0 (+https://www.datadoghq.com) aws-sdk-go/1.51.21 (go1.21.9; linux; amd64)",
	"aws-sdk-js/3.556.0 ua/2.0 os/linux#5.10.214-202.855.amzn2.x86_64 lang/js md/nodejs#20.12.2 api/dynamodb#3.556.0",
}

const browserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

// roleRead: an application or integration reading through an assumed role.
var roleReads = []struct{ source, name, params string }{
	{"ec2.amazonaws.com", "DescribeInstances", `{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}}`},
	{"ec2.amazonaws.com", "DescribeSecurityGroups", `{"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}}`},
	{"ec2.amazonaws.com", "DescribeVolumes", `{"volumeSet":{},"filterSet":{},"maxResults":500}`},
	{"sts.amazonaws.com", "GetCallerIdentity", `null`},
	{"iam.amazonaws.com", "GetRole", `{"roleName":"%ROLE%"}`},
	{"iam.amazonaws.com", "ListAttachedRolePolicies", `{"roleName":"%ROLE%"}`},
	{"kms.amazonaws.com", "DescribeKey", `{"keyId":"arn:aws:kms:%REGION%:%ACCOUNT%:key/%UUID%"}`},
	{"ssm.amazonaws.com", "GetParameter", `{"name":"/prod/orders/db-password","withDecryption":true}`},
	{"ssm.amazonaws.com", "GetParameters", `{"names":["/prod/orders/api-url","/prod/orders/feature-flags"],"withDecryption":false}`},
	{"lambda.amazonaws.com", "ListFunctions20150331", `{"maxItems":50}`},
	{"logs.amazonaws.com", "DescribeLogGroups", `{"logGroupNamePrefix":"/aws/lambda/","limit":50}`},
	{"dynamodb.amazonaws.com", "DescribeTable", `{"tableName":"orders-prod"}`},
	{"ecr.amazonaws.com", "GetAuthorizationToken", `{"registryIds":["%ACCOUNT%"]}`},
	{"rds.amazonaws.com", "DescribeDBInstances", `{"dBInstanceIdentifier":"orders-prod-db"}`},
	{"elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", `{"targetGroupArn":"arn:aws:elasticloadbalancing:%REGION%:%ACCOUNT%:targetgroup/orders-api/%HEX16%"}`},
	{"autoscaling.amazonaws.com", "DescribeAutoScalingGroups", `{"maxRecords":100}`},
	{"cloudwatch.amazonaws.com", "GetMetricData", `{"startTime":"%TIME%","endTime":"%TIME%","metricDataQueries":[{"id":"m1","metricStat":{"metric":{"namespace":"AWS/EC2","metricName":"CPUUtilization"},"period":300,"stat":"Average"}}]}`},
	{"secretsmanager.amazonaws.com", "GetSecretValue", `{"secretId":"arn:aws:secretsmanager:%REGION%:%ACCOUNT%:secret:prod/payments/stripe-%ALNUM6%"}`},
}

func (g *generator) roleRead(at time.Time, b []byte) []byte {
	r := roles[g.rng.IntN(len(roles))]
	op := roleReads[g.rng.IntN(len(roleReads))]
	c := call{identity: g.assumedRole(r.name, r.session, at, false), source: op.source, name: op.name,
		ip: g.ip(), agent: sdkAgents[g.rng.IntN(len(sdkAgents))], params: g.fill(op.params, r.name, at), response: "null",
		readOnly: true, eventType: "AwsApiCall", management: true, category: "Management", host: g.host(op.source)}
	if g.rng.IntN(200) == 0 {
		c.errorCode, c.message = "ThrottlingException", "Rate exceeded"
	}
	return g.write(at, c, b)
}

var roleWrites = []struct{ source, name, params string }{
	{"ec2.amazonaws.com", "CreateTags", `{"resourcesSet":{"items":[{"resourceId":"i-0%HEX16%"}]},"tagSet":{"items":[{"key":"team","value":"orders"},{"key":"env","value":"prod"}]}}`},
	{"logs.amazonaws.com", "CreateLogStream", `{"logGroupName":"/ecs/orders-api","logStreamName":"orders-api/app/%HEX32%"}`},
	{"ssm.amazonaws.com", "PutParameter", `{"name":"/prod/orders/last-deploy","type":"String","overwrite":true}`},
	{"lambda.amazonaws.com", "UpdateFunctionCode20150331v2", `{"functionName":"orders-export","publish":true,"dryRun":false}`},
	{"ecs.amazonaws.com", "RegisterTaskDefinition", `{"family":"orders-api","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"512","memory":"1024"}`},
	{"dynamodb.amazonaws.com", "UpdateTimeToLive", `{"tableName":"sessions-prod","timeToLiveSpecification":{"enabled":true,"attributeName":"expiresAt"}}`},
}

func (g *generator) roleWrite(at time.Time, b []byte) []byte {
	r := roles[g.rng.IntN(len(roles))]
	op := roleWrites[g.rng.IntN(len(roleWrites))]
	return g.write(at, call{identity: g.assumedRole(r.name, r.session, at, false), source: op.source, name: op.name,
		ip: g.ip(), agent: sdkAgents[g.rng.IntN(len(sdkAgents))], params: g.fill(op.params, r.name, at), response: `{"requestId":"` + g.uuid() + `"}`,
		eventType: "AwsApiCall", management: true, category: "Management", host: g.host(op.source)}, b)
}

var buckets = []string{"orders-prod-artifacts", "payments-prod-exports", "data-lake-raw-%ACCOUNT%", "cdn-assets-prod"}

func (g *generator) s3Data(at time.Time, b []byte) []byte {
	r := roles[g.rng.IntN(3)]
	bucket := g.fill(buckets[g.rng.IntN(len(buckets))], r.name, at)
	key := fmt.Sprintf("exports/%s/part-%05d-%s.parquet", at.Format("2006/01/02/15"), g.rng.IntN(100000), g.hex(8))
	name, readOnly := "GetObject", true
	in, out := 0, 1000+g.rng.IntN(5000000)
	switch g.rng.IntN(10) {
	case 0, 1, 2:
		name, readOnly, in, out = "PutObject", false, 1000+g.rng.IntN(5000000), 0
	case 3:
		name = "HeadObject"
		out = 0
	}
	host := bucket + ".s3." + g.region + ".amazonaws.com"
	return g.write(at, call{identity: g.assumedRole(r.name, r.session, at, false), source: "s3.amazonaws.com", name: name,
		ip: g.privateIP(), agent: sdkAgents[2],
		params:   `{"bucketName":"` + bucket + `","Host":"` + host + `","key":"` + key + `"}`,
		response: "null",
		additional: `{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":` + strconv.Itoa(in) +
			`,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"` + g.base64(57) + `","bytesTransferredOut":` + strconv.Itoa(out) + `}`,
		readOnly: readOnly,
		resources: `[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::` + bucket + "/" + key + `"},{"accountId":"` + g.account +
			`","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::` + bucket + `"}]`,
		eventType: "AwsApiCall", category: "Data", host: host,
		extra: `,"vpcEndpointId":"vpce-0` + g.hex(16) + `","vpcEndpointAccountId":"` + g.account + `"`}, b)
}

var services = []string{"lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com", "cloudformation.amazonaws.com", "config.amazonaws.com"}

// serviceCall: an AWS service assuming a role or using a key for someone.
func (g *generator) serviceCall(at time.Time, b []byte) []byte {
	svc := services[g.rng.IntN(len(services))]
	if g.rng.IntN(3) == 0 {
		r := roles[g.rng.IntN(len(roles))]
		c := call{identity: g.assumedRoleInvoked(r.name, r.session, at, "s3.amazonaws.com"), source: "kms.amazonaws.com",
			name: "Decrypt", ip: "s3.amazonaws.com", agent: "s3.amazonaws.com",
			params:   `{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::orders-prod-artifacts/exports/` + g.hex(12) + `"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
			response: "null", readOnly: true,
			resources: `[{"accountId":"` + g.account + `","type":"AWS::KMS::Key","ARN":"arn:aws:kms:` + g.region + ":" + g.account + ":key/" + g.uuid() + `"}]`,
			eventType: "AwsApiCall", management: true, category: "Management"}
		if g.rng.IntN(1000) == 0 {
			c.errorCode, c.message = "AccessDenied", "The ciphertext refers to a customer master key that does not exist"
		}
		return g.write(at, c, b)
	}
	r := roles[g.rng.IntN(len(roles))]
	roleARN := "arn:aws:iam::" + g.account + ":role/" + r.name
	return g.write(at, call{identity: []byte(`{"type":"AWSService","invokedBy":"` + svc + `"}`), source: "sts.amazonaws.com",
		name: "AssumeRole", ip: svc, agent: svc,
		params: `{"roleArn":"` + roleARN + `","roleSessionName":"` + g.session(r.session) + `","durationSeconds":3600}`,
		response: `{"credentials":{"accessKeyId":"ASIA` + g.upper(16) + `","sessionToken":"` + g.base64(240) +
			`","expiration":"` + at.Add(time.Hour).Format("Jan 2, 2006, 3:04:05 PM") + `"}}`,
		readOnly:  true,
		resources: `[{"accountId":"` + g.account + `","type":"AWS::IAM::Role","ARN":"` + roleARN + `"}]`,
		eventType: "AwsApiCall", management: true, category: "Management",
		extra: `,"sharedEventID":"` + g.uuid() + `"`}, b)
}

var consoleReads = []struct{ source, name, params string }{
	{"ec2.amazonaws.com", "DescribeInstances", `{"maxResults":1000,"instancesSet":{},"filterSet":{}}`},
	{"cloudtrail.amazonaws.com", "LookupEvents", `{"maxResults":50,"lookupAttributes":[{"attributeKey":"ReadOnly","attributeValue":"false"}]}`},
	{"iam.amazonaws.com", "ListUsers", `{"maxItems":1000}`},
	{"s3.amazonaws.com", "ListBuckets", `{"Host":"s3.amazonaws.com"}`},
	{"health.amazonaws.com", "DescribeEventAggregates", `{"aggregateField":"eventTypeCategory","filter":{"eventStatusCodes":["open","upcoming"]}}`},
	{"ce.amazonaws.com", "GetCostAndUsage", `{"timePeriod":{"start":"2024-04-01","end":"2024-05-01"},"granularity":"MONTHLY","metrics":["UnblendedCost"]}`},
}

// consoleRead: a person browsing the console through single sign-on.
func (g *generator) consoleRead(at time.Time, b []byte) []byte {
	r := ssoRoles[g.rng.IntN(len(ssoRoles))]
	op := consoleReads[g.rng.IntN(len(consoleReads))]
	return g.write(at, call{identity: g.assumedRole(r.name, r.session, at, true), source: op.source, name: op.name,
		ip: g.ip(), agent: browserAgent, params: op.params, response: "null", readOnly: true,
		eventType: "AwsApiCall", management: true, category: "Management", host: g.host(op.source),
		extra: `,"sessionCredentialFromConsole":"true"`}, b)
}

var userCalls = []struct {
	user, source, name, params string
	readOnly                   bool
}{
	{"ci-deployer", "ecr.amazonaws.com", "GetAuthorizationToken", `{"registryIds":["%ACCOUNT%"]}`, true},
	{"ci-deployer", "cloudformation.amazonaws.com", "DescribeStacks", `{"stackName":"orders-api-prod"}`, true},
	{"ci-deployer", "cloudformation.amazonaws.com", "UpdateStack", `{"stackName":"orders-api-prod","capabilities":["CAPABILITY_IAM"],"usePreviousTemplate":false}`, false},
	{"backup-agent", "s3.amazonaws.com", "ListObjects", `{"bucketName":"backups-%ACCOUNT%","prefix":"nightly/","Host":"backups-%ACCOUNT%.s3.amazonaws.com"}`, true},
}

// userCall: a long-lived IAM user's access key at work.
func (g *generator) userCall(at time.Time, b []byte) []byte {
	op := userCalls[g.rng.IntN(len(userCalls))]
	id := `{"type":"IAMUser","principalId":"AIDA` + g.keyFor(op.user) + `","arn":"arn:aws:iam::` + g.account + `:user/` + op.user +
		`","accountId":"` + g.account + `","accessKeyId":"AKIA` + g.keyFor(op.user+"key") + `","userName":"` + op.user + `"}`
	return g.write(at, call{identity: []byte(id), source: op.source, name: op.name, ip: "198.51.100." + strconv.Itoa(10+g.rng.IntN(50)),
		agent: sdkAgents[3], params: g.fill(op.params, "", at), response: "null", readOnly: op.readOnly,
		eventType: "AwsApiCall", management: true, category: "Management", host: g.host(op.source)}, b)
}

// deniedCall: a person refused a call, which the unauthorized-calls rule reports.
func (g *generator) deniedCall(at time.Time, b []byte) []byte {
	id := `{"type":"IAMUser","principalId":"AIDA` + g.keyFor("backup-agent") + `","arn":"arn:aws:iam::` + g.account +
		`:user/backup-agent","accountId":"` + g.account + `","accessKeyId":"AKIA` + g.keyFor("backup-agentkey") + `","userName":"backup-agent"}`
	return g.write(at, call{identity: []byte(id), source: "s3.amazonaws.com", name: "GetBucketPolicy", ip: "198.51.100.77",
		agent: sdkAgents[3], params: `{"bucketName":"payments-prod-exports","Host":"payments-prod-exports.s3.amazonaws.com","policy":""}`,
		response: "null", errorCode: "AccessDenied", message: "Access Denied", readOnly: true,
		eventType: "AwsApiCall", management: true, category: "Management", host: "payments-prod-exports.s3.amazonaws.com"}, b)
}

func (g *generator) assumedRole(role, sessionKind string, at time.Time, mfa bool) []byte {
	return g.identity(role, sessionKind, at, "", mfa)
}

func (g *generator) assumedRoleInvoked(role, sessionKind string, at time.Time, invokedBy string) []byte {
	return g.identity(role, sessionKind, at, invokedBy, false)
}

// identity is the userIdentity of a session of role, reusing the role's open session most of
// the time and starting a new one now and then.
func (g *generator) identity(role, sessionKind string, at time.Time, invokedBy string, mfa bool) []byte {
	k := role + "|" + sessionKind + "|" + invokedBy
	s := g.sessions[k]
	if s == nil || g.rng.IntN(50) == 0 {
		s = &session{name: g.session(sessionKind), key: "ASIA" + g.upper(16), created: at.Add(-time.Duration(g.rng.IntN(3000)) * time.Second)}
		s.identity = g.identityJSON(role, s, invokedBy, mfa)
		g.sessions[k] = s
	}
	return s.identity
}

func (g *generator) identityJSON(role string, s *session, invokedBy string, mfa bool) []byte {
	b := make([]byte, 0, 640)
	b = append(b, `{"type":"AssumedRole","principalId":"AROA`...)
	b = append(b, g.keyFor(role)...)
	b = append(b, ':')
	b = append(b, s.name...)
	b = append(b, `","arn":"arn:aws:sts::`...)
	b = append(b, g.account...)
	b = append(b, `:assumed-role/`...)
	b = append(b, role...)
	b = append(b, '/')
	b = append(b, s.name...)
	b = append(b, `","accountId":"`...)
	b = append(b, g.account...)
	b = append(b, `","accessKeyId":"`...)
	b = append(b, s.key...)
	b = append(b, `","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA`...)
	b = append(b, g.keyFor(role)...)
	b = append(b, `","arn":"arn:aws:iam::`...)
	b = append(b, g.account...)
	b = append(b, `:role/`...)
	b = append(b, role...)
	b = append(b, `","accountId":"`...)
	b = append(b, g.account...)
	b = append(b, `","userName":"`...)
	b = append(b, role...)
	b = append(b, `"},"webIdFederationData":{},"attributes":{"creationDate":"`...)
	b = s.created.AppendFormat(b, time.RFC3339)
	b = append(b, `","mfaAuthenticated":"`...)
	b = strconv.AppendBool(b, mfa)
	b = append(b, `"}}`...)
	if invokedBy != "" {
		b = append(b, `,"invokedBy":"`...)
		b = append(b, invokedBy...)
		b = append(b, '"')
	}
	return append(b, '}')
}

func (g *generator) session(kind string) string {
	switch kind {
	case "hex":
		return g.hex(32)
	case "instance":
		return "i-0" + g.hex(16)
	}
	return kind
}

// fill replaces the placeholders of a parameter template.
func (g *generator) fill(s, role string, at time.Time) string {
	if !bytes.ContainsRune([]byte(s), '%') {
		return s
	}
	out := make([]byte, 0, len(s)+64)
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '%' {
			j++
		}
		switch s[i+1 : j] {
		case "ACCOUNT":
			out = append(out, g.account...)
		case "REGION":
			out = append(out, g.region...)
		case "ROLE":
			out = append(out, role...)
		case "UUID":
			out = append(out, g.uuid()...)
		case "HEX16":
			out = append(out, g.hex(16)...)
		case "HEX32":
			out = append(out, g.hex(32)...)
		case "ALNUM6":
			out = append(out, g.alnum(6)...)
		case "TIME":
			out = at.AppendFormat(out, time.RFC3339)
		}
		i = j
	}
	return string(out)
}

func (g *generator) host(source string) string {
	svc := source[:len(source)-len(".amazonaws.com")]
	if slices.Contains([]string{"iam", "sts", "cloudfront", "organizations", "health", "ce"}, svc) {
		return svc + ".amazonaws.com"
	}
	return svc + "." + g.region + ".amazonaws.com"
}

func (g *generator) ip() string {
	return fmt.Sprintf("%d.%d.%d.%d", []int{3, 18, 34, 52, 54}[g.rng.IntN(5)], g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
}

func (g *generator) privateIP() string {
	return fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(16), g.rng.IntN(256), 1+g.rng.IntN(254))
}

const (
	hexDigits = "0123456789abcdef"
	upperNum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alnums    = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func (g *generator) pick(n int, from string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = from[g.rng.IntN(len(from))]
	}
	return string(b)
}

func (g *generator) hex(n int) string   { return g.pick(n, hexDigits) }
func (g *generator) upper(n int) string { return g.pick(n, upperNum) }
func (g *generator) alnum(n int) string { return g.pick(n, alnums) }

func (g *generator) base64(n int) string {
	b := make([]byte, n*3/4+1)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)[:n]
}

func (g *generator) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:]
}

// keyFor is a stable ID for a name within the account, as IAM's unique IDs are.
func (g *generator) keyFor(name string) string {
	r := rand.New(rand.NewPCG(g.cfg.Seed, uint64(len(name))<<32^uint64(fnv(name+g.account))))
	b := make([]byte, 17)
	for i := range b {
		b[i] = upperNum[r.IntN(len(upperNum))]
	}
	return string(b)
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
