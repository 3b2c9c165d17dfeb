#!/usr/bin/env bash
# bench.sh: the figures of "replay at the speed of decompression", all measured in one run on
# one generated corpus, with the machine they ran on. `make bench` runs it.
#
#   replay, 1 job and all cores ............ records/s, MB/s of JSON, peak RSS
#   decompression alone (klauspost/compress, the library replay uses, to /dev/null)
#   gzip -dc, and jq selecting the same risky events (gzip -dc | jq), 1 and all cores
#   the ratios: replay ÷ decompression alone, replay ÷ jq
#   the Lambda: bootstrap size (arm64, as deployed), INIT, warm invoke p50/p99 under aws-lambda-rie
#   the handler under load: 10,000 mixed events, p50/p99 handling time and peak memory (TestLoad)
#   Go benchmarks of parse+detect per record, with allocations
#   the noise: what Slack would receive from the corpus with the default config (watchdog noise)
#
# Each timing is taken in BENCH_RUNS interleaved rounds and shown as best and median: on a shared
# machine other work only ever slows a run down, and the median shows by how much. Ratios are
# taken within each round and their median shown: runs minutes apart can differ by half; the
# ratio of replay to decompression alone is taken over BENCH_PAIRS more back-to-back pairs too.
# Environment: BENCH_SIZE (1100MB), BENCH_SEED (1), BENCH_RUNS (3), BENCH_PAIRS (10), BENCH_JOBS (all
# cores), BENCH_INVOKES (1000). The corpus is one generated day of three accounts (the day the
# noise goal is set on), generated once into .bench/ and reused; `make corpus` makes the same.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${BENCH_SIZE:-1100MB}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-3}
PAIRS=${BENCH_PAIRS:-10}
JOBS=${BENCH_JOBS:-$(nproc)}
INVOKES=${BENCH_INVOKES:-1000}
GO=${GO:-go}
OUT=.bench
GEN_SHAPE=(--days 1 --accounts 123456789012,210987654321,333344445555)
CORPUS=$OUT/corpus-$SIZE-s$SEED-1d3a
BIN=$OUT/bin

mkdir -p "$BIN"
load0=$(awk '{print $1}' /proc/loadavg)
echo "bench: building" >&2
$GO build -trimpath -o "$BIN/watchdog" ./cmd/watchdog
$GO build -trimpath -o "$BIN/gunzip" ./internal/gunzip

if [ ! -f "$CORPUS/corpus.manifest" ]; then
	echo "bench: generating a $SIZE corpus in $CORPUS (once; later runs reuse it)" >&2
	rm -rf "$CORPUS"
	"$BIN/watchdog" gen --out "$CORPUS" --size "$SIZE" --seed "$SEED" "${GEN_SHAPE[@]}"
fi
[ "${BENCH_CORPUS_ONLY:-}" = 1 ] && exit 0 # make corpus

for tool in jq gzip /usr/bin/time; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: $tool is missing; on Debian or Ubuntu: sudo apt-get install -y jq gzip time" >&2
		exit 1
	fi
done

records=$(jq .records "$CORPUS/corpus.manifest")
bytes=$(jq .bytes "$CORPUS/corpus.manifest")
stored=$(jq .compressed "$CORPUS/corpus.manifest")
nfiles=$(jq .files "$CORPUS/corpus.manifest")
find "$CORPUS" -name '*.json.gz' -print0 | sort -z >"$OUT/files"
per=$(((nfiles + JOBS - 1) / JOBS)) # files per parallel pipeline

# The jq program selects what the pre-filter lets through: events a rule is indexed by, calls
# by the root user, and denied calls, with the rule table's own (source, name) pairs.
"$BIN/watchdog" rules --output json |
	jq -c '[.[] | select(.source != "*") | .source as $s | .events[] | {key: ($s + " " + .), value: true}] | from_entries' >"$OUT/rule-keys.json"
cat >"$OUT/risky.jq" <<'EOF'
.Records[]
| select($k[0][.eventSource + " " + .eventName]
    or .userIdentity.type == "Root"
    or ((.errorCode // "") | test("UnauthorizedOperation$|^AccessDenied")))
| .eventID
EOF
export JQ_KEYS=$OUT/rule-keys.json JQ_PROG=$OUT/risky.jq

# Every measurement runs once per round, RUNS rounds, keeping the best wall time and the
# largest peak RSS of each: interleaved, a burst of other work on the machine slows one round of
# everything rather than all runs of one thing.
jqcmd='gzip -dc "$@" | jq -r --slurpfile k "$JQ_KEYS" -f "$JQ_PROG"'
# Each replay runs next to its decompression-alone baseline, so that the ratio of the two is
# taken over seconds, not minutes, of a machine whose speed drifts.
names=(replay1 gunzip1 replayN gunzipN gzip1 gzipN jq1 jqN)
cmds=(
	"'$BIN/watchdog' replay --output jsonl --jobs 1 '$CORPUS' 2>'$OUT/replay1.err' >'$OUT/replay1.jsonl'"
	"'$BIN/gunzip' -jobs 1 '$CORPUS'"
	"'$BIN/watchdog' replay --output jsonl --jobs $JOBS '$CORPUS' 2>'$OUT/replayN.err' >'$OUT/replayN.jsonl'"
	"'$BIN/gunzip' -jobs $JOBS '$CORPUS'"
	"xargs -0 gzip -dc <'$OUT/files' >/dev/null"
	"xargs -0 -P $JOBS -n $per gzip -dc <'$OUT/files' >/dev/null"
	"xargs -0 sh -c '$jqcmd' sh <'$OUT/files' >'$OUT/jq1.out'"
	"xargs -0 -P $JOBS -n $per sh -c '$jqcmd' sh <'$OUT/files' >'$OUT/jqN.out'"
)
declare -A secs med all rss
index() { for k in "${!names[@]}"; do [ "${names[$k]}" = "$1" ] && echo "$k"; done; }
order=("${!names[@]}")
for round in $(seq "$RUNS"); do
	# Every other round runs the list backwards: a machine speeding up or slowing down during a
	# round then favours each of a pair in turn.
	if ((round % 2 == 0)); then ks=($(printf '%s\n' "${order[@]}" | tac)); else ks=("${order[@]}"); fi
	for k in "${ks[@]}"; do
		name=${names[$k]}
		/usr/bin/time -f '%e %M' -o "$OUT/time" bash -c "${cmds[$k]}" >/dev/null
		read -r t m <"$OUT/time"
		all[$name]="${all[$name]:-} $t"
		m=$(awk "BEGIN{printf \"%.0f\", $m/1024}")
		if [ -z "${rss[$name]:-}" ] || [ "$m" -gt "${rss[$name]}" ]; then rss[$name]=$m; fi
		echo "bench: round $round/$RUNS: $name ${t}s, peak RSS ${m} MB" >&2
	done
done
# The target's ratio, replay ÷ decompression alone, is taken again over PAIRS more back-to-back
# pairs, each pair's first run alternating: a burst of other work that slows one run of a pair
# moves one ratio of many, not the median.
declare -A pairs
for name in replay1 gunzip1 replayN gunzipN; do pairs[$name]=${all[$name]}; done
for p in $(seq "$PAIRS"); do
	for j in 1 N; do
		if ((p % 2)); then ks=("replay$j" "gunzip$j"); else ks=("gunzip$j" "replay$j"); fi
		for name in "${ks[@]}"; do
			/usr/bin/time -f '%e' -o "$OUT/time" bash -c "${cmds[$(index "$name")]}" >/dev/null
			pairs[$name]="${pairs[$name]} $(cat "$OUT/time")"
		done
	done
	echo "bench: pair $p/$PAIRS: replay and decompression alone, 1 job and $JOBS jobs" >&2
done
for name in "${names[@]}"; do
	sorted=$(echo "${all[$name]}" | tr ' ' '\n' | grep . | sort -g)
	secs[$name]=$(echo "$sorted" | head -1)
	med[$name]=$(echo "$sorted" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')
done

if ! cmp -s "$OUT/replay1.jsonl" "$OUT/replayN.jsonl"; then
	echo "bench: replay with $JOBS jobs printed other findings than with 1" >&2
	exit 1
fi
findings=$(wc -l <"$OUT/replayN.jsonl")
selected=$(wc -l <"$OUT/jq1.out")
decoded=$(grep -o '[0-9]* records decoded' "$OUT/replayN.err" | cut -d' ' -f1)

echo "bench: the Lambda" >&2
make --no-print-directory build-WatchdogFunction ARTIFACTS_DIR="$PWD/$OUT/lambda" >/dev/null
boot=$(stat -c %s "$OUT/lambda/bootstrap")
lambda=$($GO test ./internal/lambdabench -run '^$' -bench . -benchtime "${INVOKES}x" -count 1 | grep '^BenchmarkLambda')
metric() { echo "$lambda" | awk -v u="$1" '{for (i = 2; i <= NF; i++) if ($i == u) print $(i-1)}'; }

echo "bench: load: 10,000 events through the handler (pkg/eventhandler TestLoad, as make bench-load)" >&2
$GO test -count=1 -run '^TestLoad$' ./pkg/eventhandler/ -args -load.events=10000 -load.report="$PWD/$OUT/load.txt" >/dev/null

echo "bench: noise: what Slack would receive from the corpus (watchdog noise, default config)" >&2
"$BIN/watchdog" noise --output json --jobs "$JOBS" "$CORPUS" >"$OUT/noise.json" 2>"$OUT/noise.err"
# and with slack.immediate_severity: high, the setting the README compares it with
printf 'slack:\n  immediate_severity: high\n' >"$OUT/noise-high.yaml"
"$BIN/watchdog" noise --config "$OUT/noise-high.yaml" --output json --jobs "$JOBS" "$CORPUS" >"$OUT/noise-high.json" 2>>"$OUT/noise.err"

echo "bench: Go benchmarks" >&2
gobench=$($GO test ./pkg/cloudtrail -run '^$' -bench 'ParseDetect|ScannerLogFile|Skim' -benchmem -count 1 | grep '^Benchmark')

# Figures and table.
mbps() { awk "BEGIN{printf \"%.0f\", $bytes/1e6/$1}"; }
rps() { awk "BEGIN{printf \"%.0f\", $records/$1}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $2/$1}"; } # ratio A B: how many times A's time B's time is
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
	echo "### Replay and backtest figures"
	echo
	echo "Measured $(date -u +%Y-%m-%d) by \`make bench\` on $(nproc) × $cpu (load average $load0 at the start, $(awk '{print $1}' /proc/loadavg) at the end),"
	echo "$($GO version | cut -d' ' -f3), $(uname -m). Corpus: \`watchdog gen --size $SIZE --seed $SEED ${GEN_SHAPE[*]}\`: $nfiles files, $records records,"
	echo "$(awk "BEGIN{printf \"%.1f\", $bytes/1e9}") GB of JSON ($(awk "BEGIN{printf \"%.0f\", $stored/1e6}") MB gzipped). Times are the best and the median of $RUNS interleaved rounds; the rates are of the best."
	echo
	echo "| what | jobs | best (median) time | records/s | MB/s of JSON | peak RSS |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	row() { echo "| $1 | $3 | ${secs[$2]} s (${med[$2]} s) | $(rps "${secs[$2]}") | $(mbps "${secs[$2]}") | ${rss[$2]} MB |"; }
	row "replay" replay1 1
	row "replay" replayN "$JOBS"
	row "decompression alone (klauspost/compress, internal/gunzip)" gunzip1 1
	row "decompression alone (klauspost/compress, internal/gunzip)" gunzipN "$JOBS"
	row "gzip -dc" gzip1 1
	row "gzip -dc" gzipN "$JOBS"
	row "gzip -dc \\| jq, selecting the same events" jq1 1
	row "gzip -dc \\| jq, selecting the same events" jqN "$JOBS"
	echo
	echo "| ratio of speeds, within each round or pair: median (lowest–highest) | value | target |"
	echo "| --- | ---: | --- |"
	# r2 A B [pairs]: how many times B's time A's time is, taken within each round (the two ran
	# minutes apart at most, so a slow spell of the machine slows both), and with "pairs" within
	# each of the back-to-back pairs too, then the median over them.
	r2() {
		local -n from=${3:-all}
		paste <(echo "${from[$1]}" | tr ' ' '\n' | grep .) <(echo "${from[$2]}" | tr ' ' '\n' | grep .) |
			awk '{print $2 / $1}' | sort -g |
			awk '{r[NR] = $1} END {m = (NR % 2) ? r[(NR+1)/2] : (r[NR/2] + r[NR/2+1]) / 2; printf "%.2f (%.2f–%.2f)", m, r[1], r[NR]}'
	}
	echo "| replay ÷ decompression alone, 1 job ² | $(r2 replay1 gunzip1 pairs) | |"
	echo "| replay ÷ decompression alone, $JOBS jobs ² | $(r2 replayN gunzipN pairs) | ≥ 0.6 (aim 0.8) |"
	echo "| replay ÷ jq, 1 job each | $(r2 replay1 jq1) | |"
	echo "| replay ÷ jq, $JOBS jobs each | $(r2 replayN jqN) | |"
	echo "| replay on $JOBS jobs ÷ one jq | $(r2 replayN jq1) | ≥ 15 ¹ |"
	echo "| decompression alone ÷ jq, $JOBS jobs each: the most any replay could reach | $(r2 gunzipN jqN) | |"
	echo
	echo "¹ jq runs on one core, as peers run it (jq has no threads). Core for core, 15 × jq would ask replay for 15 ÷ (the"
	echo "row above) of the speed of decompression alone, because replay decompresses too."
	echo
	echo "² Over the $RUNS rounds and $PAIRS more pairs run back to back, each pair's first run alternating."
	echo
	echo "Replay decoded $decoded of $records records for the rules and printed $findings findings (the same with 1 and $JOBS jobs); jq selected $selected records."
	echo
	echo "| Lambda (aws-lambda-rie, Slack answered locally, dry-run) | value | target |"
	echo "| --- | ---: | --- |"
	echo "| bootstrap, linux/arm64 as deployed | $(awk "BEGIN{printf \"%.1f\", $boot/1048576}") MB | ≤ 15 MB |"
	echo "| INIT (first invoke less a warm one), p50 / max of 5 | $(metric init-p50-ms) / $(metric init-max-ms) ms | < 50 ms |"
	echo "| warm invoke p50 / p99 over $(metric invokes) invokes | $(metric p50-ms) / $(metric p99-ms) ms | p99 < 5 ms |"
	echo
	echo "Load: 10,000 mixed events (1% risky) through 16 concurrent handlers against moto_server and a local Slack"
	echo "(\`make bench-load\`; times include moto_server's):"
	echo
	echo '```'
	cat "$OUT/load.txt"
	echo '```'
	echo
	# The noise table: the default config's routing, thresholds and flood control over the corpus,
	# beside the same with slack.immediate_severity: high.
	nj() { jq -r "$2" "$OUT/$1.json"; }
	bysev() { nj "$1" "[.$2 | .critical, .high, .medium, .low, .info] | map(tostring) | join(\" / \")"; }
	row() { # row LABEL JQ GOAL: one figure per config
		echo "| $1 | $(nj noise "$2") | $(nj noise-high "$2") | $3 |"
	}
	echo "Noise: what Slack would receive from this corpus (\`watchdog noise\`; $(nj noise .days) day(s) × $(nj noise .accounts) account(s)),"
	echo "with the default config and with \`slack.immediate_severity: high\`:"
	echo
	echo "| noise | default | immediate_severity: high | goal |"
	echo "| --- | ---: | ---: | --- |"
	echo "| findings by severity (critical / high / medium / low / info) | $(bysev noise findings_by_severity) | $(bysev noise-high findings_by_severity) | |"
	row "critical and high findings that reached Slack at once" '"\(.immediate_findings_by_severity.critical + .immediate_findings_by_severity.high) of \(.findings_by_severity.critical + .findings_by_severity.high)"' all
	echo "| messages posted at once, by severity (critical / high / medium / low / info) | $(nj noise .immediate) ($(bysev noise immediate_by_severity)) | $(nj noise-high .immediate) ($(bysev noise-high immediate_by_severity)) | |"
	row "updates to them (flood control, thresholds)" .updates ""
	row "digest entries (digest messages)" '"\(.digest_entries) (\(.digest_messages))"' ""
	row "messages posted at once per account-day" .immediate_per_account_day ""
	row "of them below high, per account-day" .other_immediate_per_account_day "< 20"
	echo
	echo "Go benchmarks (\`go test -bench 'ParseDetect|ScannerLogFile|Skim' -benchmem ./pkg/cloudtrail\`):"
	echo
	echo '```'
	echo "$gobench"
	echo '```'
} | tee "$OUT/results.md"
echo "bench: written to $OUT/results.md" >&2
