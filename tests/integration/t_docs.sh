# The docs match the binaries: every setting that `registryd -h` and
# `authd -h` list is in a settings table of docs/ with its default and, for
# a number, its range; every key of those tables and of deploy/*.example
# exists; every berthctl command of `berthctl -h`, with its options, is in
# docs/api.md's berthctl table. Needs no daemon; runs alone as
# `BUILD=build ROOT=. bash tests/integration/t_docs.sh`.
. "$(dirname "$0")/lib.sh"

DOCS=${DOCS:-$ROOT/docs}

# rows FILE...: the table rows (lines starting with "|") of the files.
rows() {
	grep -h '^|' "$@"
}

# settings_rows FILE...: the rows of the tables whose first header cell is
# "key", the settings tables.
settings_rows() {
	awk '
		/^\|/ { if (!intable) { intable = 1;
			key = tolower($0) ~ /^\| *key *\|/; next }
			if (key && $0 !~ /^\|[-| ]*$/) print; next }
		{ intable = 0; key = 0 }' "$@"
}

# ere TEXT: TEXT with the ERE metacharacters escaped.
ere() {
	sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# usage_keys DAEMON: "key<TAB>default<TAB>min<TAB>max" for each setting in
# DAEMON -h (min and max empty unless it is a number).
usage_keys() {
	"$BUILD/$1" -h | sed -nE \
	    -e 's/^  ([a-z0-9_]+) .*\(default: ([^;)]*); (-?[0-9]+) to (-?[0-9]+)\)$/\1\t\2\t\3\t\4/p' \
	    -e 't' \
	    -e 's/^  ([a-z0-9_]+) .*\(default: ([^)]*)\)$/\1\t\2\t\t/p'
}

# check_daemon DAEMON DOC...: each key of DAEMON -h has a row in a table
# of the DOCs that names it in backticks, shows its default (unless
# empty) and its range ("1–256" or "1 to 256").
check_daemon() {
	local daemon=$1 key def min max n=0 bad='' found r
	shift
	while IFS=$'\t' read -r key def min max; do
		n=$((n + 1))
		found=0
		while IFS= read -r r; do
			if [ -n "$def" ] && [ "$def" != unset ] &&
			    ! grep -qE "(^|[^0-9A-Za-z_.])$(ere "$def")([^0-9A-Za-z_]|$)" <<<"$r"; then
				continue
			fi
			if [ -n "$min" ] &&
			    ! grep -qE "(^|[^0-9])$min( to |–)$max([^0-9]|$)" <<<"$r"; then
				continue
			fi
			found=1
			break
		done < <(rows "$@" | grep -F "\`$key\`")
		[ "$found" = 1 ] || bad="$bad $key(default ${def:-empty}${min:+, $min to $max})"
	done < <(usage_keys "$daemon")
	if [ "$n" -lt 10 ]; then
		not_ok "$daemon -h lists its settings" "only $n parsed"
	elif [ -z "$bad" ]; then
		ok "each of the $n settings of $daemon -h is documented with its default and range"
	else
		not_ok "each setting of $daemon -h is documented with its default and range" \
			"missing or wrong in ${*#$ROOT/}:$bad"
	fi
}

check_daemon registryd "$DOCS/configuration.md" "$DOCS/auth.md"
check_daemon authd "$DOCS/auth.md" "$DOCS/ldap.md" "$DOCS/configuration.md"

# Every backticked key in the first column of a settings table exists.
known=$(usage_keys registryd; usage_keys authd)
known=$(cut -f1 <<<"$known" | sort -u)
bad=''
n=0
for k in $(settings_rows "$DOCS"/*.md | cut -d'|' -f2 |
    grep -oE '`[^`]+`' | tr -d '`' | sort -u); do
	n=$((n + 1))
	grep -qx -- "$k" <<<"$known" || bad="$bad $k"
done
if [ "$n" -lt 50 ]; then
	not_ok "the docs' settings tables are found" "only $n keys"
elif [ -z "$bad" ]; then
	ok "each of the $n keys in the docs' settings tables exists"
else
	not_ok "each key in the docs' settings tables exists" "unknown:$bad"
fi

# Every key in deploy/*.conf.example, set or commented out, exists in that
# daemon.
for d in registryd authd; do
	f=$ROOT/deploy/$d.conf.example
	dk=$(usage_keys "$d" | cut -f1)
	bad=''
	for k in $(sed -nE 's/^#? ?([a-z_]+) *= .*/\1/p' "$f" | sort -u); do
		grep -qx -- "$k" <<<"$dk" || bad="$bad $k"
	done
	if [ -z "$bad" ]; then
		ok "each key in deploy/$d.conf.example is one of $d's settings"
	else
		not_ok "each key in deploy/$d.conf.example is one of $d's settings" "unknown:$bad"
	fi
done

# Every berthctl command, and each of its options, is in the berthctl table
# of docs/api.md. --limit, shared by every list, is described once above the
# table.
table=$(awk '/^\| command \| API \|/ { t = 1 } t && !/^\|/ { exit } t' \
	"$DOCS/api.md")
cmds=0
bad=''
while IFS= read -r line; do
	words=$(awk '{ s = ""; for (i = 1; i <= NF; i++) {
		if ($i !~ /^[a-z][a-z-]*$/) break; s = s (s ? " " : "") $i }
		print s }' <<<"$line")
	[ -n "$words" ] || continue
	cmds=$((cmds + 1))
	r=$(grep -E "\`$(ere "$words")( [^\`]*)?\`" <<<"$table")
	if [ -z "$r" ]; then
		bad="$bad [$words]"
		continue
	fi
	for o in $(grep -oE -- '--[a-z-]+' <<<"$line" | sort -u); do
		[ "$o" = --limit ] && continue
		grep -qE -- "$o([^a-z-]|$)" <<<"$r" || bad="$bad [$words $o]"
	done
done < <("$BUILD/berthctl" -h | sed '1,/^commands:/d')
if [ "$cmds" -lt 40 ]; then
	not_ok "berthctl -h lists its commands" "only $cmds parsed"
elif [ -z "$bad" ]; then
	ok "each of the $cmds commands of berthctl -h is in docs/api.md with its options"
else
	not_ok "each command of berthctl -h is in docs/api.md with its options" \
		"missing:$bad"
fi
if grep -qF -- '`--limit N`' "$DOCS/api.md"; then
	ok "docs/api.md describes berthctl's --limit"
else
	not_ok "docs/api.md describes berthctl's --limit" "no \`--limit N\`"
fi

# Every REGISTRYD_KEY and AUTHD_KEY variable that README.md, docs/ and
# deploy/ name is the environment form of a setting of that daemon.
bad=''
n=0
for v in $(grep -ohE '\b(REGISTRYD|AUTHD)_[A-Z][A-Z_]*' "$ROOT/README.md" \
    "$DOCS"/*.md "$ROOT"/deploy/* | sort -u); do
	n=$((n + 1))
	d=$(tr 'A-Z' 'a-z' <<<"${v%%_*}")
	k=$(tr 'A-Z' 'a-z' <<<"${v#*_}")
	usage_keys "$d" | cut -f1 | grep -qx -- "$k" || bad="$bad $v"
done
if [ -z "$bad" ]; then
	ok "each of the $n REGISTRYD_*/AUTHD_* variables in the docs is a setting"
else
	not_ok "each REGISTRYD_*/AUTHD_* variable in the docs is a setting" "unknown:$bad"
fi

# Every link to FILE.md#anchor (or #anchor) in README.md and docs/ names a
# heading of that file, as GitHub makes anchors: lower case, punctuation
# dropped, blanks as "-".
anchors() {
	sed -n 's/^#\{1,6\} //p' "$1" | tr 'A-Z' 'a-z' |
		sed -e 's/[^a-z0-9 _-]//g' -e 's/ /-/g'
}
bad=''
n=0
for f in "$ROOT/README.md" "$DOCS"/*.md; do
	for l in $(grep -oE '\]\([A-Za-z0-9_./-]*#[a-z0-9_-]+\)' "$f" |
	    sed -e 's/^](//' -e 's/)$//'); do
		n=$((n + 1))
		t=${l%%#*}
		if [ -z "$t" ]; then
			t=$f
		else
			t=$(dirname "$f")/$t
		fi
		[ -f "$t" ] && anchors "$t" | grep -qx -- "${l#*#}" ||
			bad="$bad ${f##*/}:$l"
	done
done
if [ "$n" -lt 20 ]; then
	not_ok "the docs' links to headings are found" "only $n"
elif [ -z "$bad" ]; then
	ok "each of the $n links to a heading in README.md and docs/ resolves"
else
	not_ok "each link to a heading in README.md and docs/ resolves" "broken:$bad"
fi
