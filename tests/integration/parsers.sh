#!/usr/bin/env bash
# parsers.sh — the config, `where` and lavaan parsers end to end (issue 12,
# items 3, 6, 7, 12): job names HDF5 cannot hold are refused by `check`;
# 100,000-deep nesting is refused with file, line and key; lavaan syntax
# with ';' separators fits exactly like the multi-line model; a config with
# a UTF-8 BOM, CRLF line ends and lines of 10,000 characters runs.
source "$(dirname "$0")/lib.bash" "$@"

expect_exit 0 "simulate" -- "$CXFIT" simulate "$WORK/d.h5" --firms 3 --waves 2 --respondents 60 --seed 3
head_ini() { printf '[data]\nfile = d.h5\ntable = /responses\n'; }

# one line on stderr: the message and nothing else
expect_one_line() {
    if [ "$(wc -l <"$WORK/stderr")" -eq 1 ]; then ok "$1: one line"; else
        fail "$1: stderr is not one line: $(head -c 400 "$WORK/stderr")"
    fi
}

# ---- item 3: job names -------------------------------------------------
for name in . .. a/b -x ' ' 'a b' 'é'; do
    { head_ini; printf '[job %s]\nmodel = describe\nitems = pex1\n' "$name"; } >"$WORK/name.ini"
    expect_exit 2 "check refuses job name '$name'" -- "$CXFIT" check "$WORK/name.ini"
    expect_stderr "name.ini:4: job name '" "job name '$name' error names file and line"
    expect_stderr "is not allowed: use 1 to 64 letters, digits" "job name '$name' error says what is allowed"
    expect_one_line "job name '$name'"
done
{ head_ini; printf '[job wave_3.v2-a]\nmodel = describe\nitems = pex1\n'; } >"$WORK/name.ini"
expect_exit 0 "check accepts job name 'wave_3.v2-a'" -- "$CXFIT" check "$WORK/name.ini"

# a `by` column becomes a column name in the job's tables: one named like a
# column the model writes would be overwritten by it, so the job fails alone
printf '[data]\nfile = d.h5\ntable = /firms\n[job byn]\nmodel = describe\nitems = nps\nby = n\n[job fine]\nmodel = describe\nitems = nps\nby = wave\n' >"$WORK/by.ini"
expect_exit 1 "a by column named like a model column fails its job" -- "$CXFIT" run "$WORK/by.ini" -o "$WORK/by.h5"
expect_stderr "job 'byn' failed: by column 'n' has the name of a column of the model's table" "by clash named"
h5dump -d /fine/items/wave "$WORK/by.h5" >/dev/null 2>&1 && ok "the other job is written" || fail "job 'fine' lost"

# ---- item 6: 100,000-deep nesting over continuation lines ------------------
python3 - "$WORK" <<'PY'
import sys
work, n = sys.argv[1], 100000
head = '[data]\nfile = d.h5\ntable = /responses\n'
with open(work + '/where.ini', 'w') as f:
    f.write(head + '[job deep]\nmodel = describe\nitems = pex1\nwhere = ')
    f.write('\n'.join(['   ('] * n) + ' pex1 > 1 ' + ')' * n + '\n')
with open(work + '/holdout.ini', 'w') as f:
    f.write(head + '[job deep]\nmodel = cfa\nsyntax = F =~ pex1 + pex2 + pex3\n')
    f.write('validate = holdout(' + 'not ' * n + 'wave == 1)\n')
with open(work + '/syntax.ini', 'w') as f:
    f.write(head + '[job deep]\nmodel = cfa\nsyntax = F =~ pex1 + a*pex2 + pex3\n')
    f.write('   d := ' + '\n'.join(['     ('] * n) + ' a ' + ')' * n + '\n')
PY
expect_exit 2 "check refuses a where 100,000 parentheses deep" -- "$CXFIT" check "$WORK/where.ini"
expect_stderr "where.ini:7: job 'deep', key 'where': at line 65 of the value" "deep where names file, line and key"
expect_stderr "nest more than 64 levels deep" "deep where says the limit"
expect_one_line "deep where"
expect_exit 2 "run refuses it too, writing nothing" -- "$CXFIT" run "$WORK/where.ini" -o "$WORK/where.h5"
[ -e "$WORK/where.h5" ] && fail "a refused run left a results file" || ok "no results file"
expect_exit 2 "check refuses a holdout 100,000 'not's deep" -- "$CXFIT" check "$WORK/holdout.ini"
expect_stderr "holdout.ini:7: job 'deep', key 'validate'" "deep holdout names file, line and key"
expect_one_line "deep holdout"
expect_exit 2 "check refuses a := 100,000 parentheses deep" -- "$CXFIT" check "$WORK/syntax.ini"
expect_stderr "syntax.ini:6: job 'deep', key 'syntax': line 2" "deep := names file, line and key"
expect_one_line "deep :="

# ---- item 7: ';' separates lavaan formulas; it is not a comment -------------
{
    head_ini
    printf '[job semi]\nmodel = cfa\nsyntax = PEX =~ pex1 + pex2 + pex3 ; OUT =~ out1 + out2 + out3 ; PEX ~~ OUT\n'
    printf '[job lines]\nmodel = cfa\nsyntax = PEX =~ pex1 + pex2 + pex3\n   OUT =~ out1 + out2 + out3   # comment\n   PEX ~~ OUT\n'
} >"$WORK/semi.ini"
expect_exit 0 "run a cfa with ';' separators" -- "$CXFIT" run "$WORK/semi.ini" -o "$WORK/semi.h5"
for col in lhs op rhs est se; do
    a=$(h5dump -d /semi/estimates/$col "$WORK/semi.h5" | tail -n +3)
    b=$(h5dump -d /lines/estimates/$col "$WORK/semi.h5" | tail -n +3)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "';' and line breaks give the same $col"; else
        fail "estimates/$col differ between ';' and multi-line syntax"
    fi
done
if h5dump -d /semi/estimates/lhs "$WORK/semi.h5" | grep -q '"OUT"'; then ok "nothing after ';' lost"; else
    fail "the formula after ';' was lost"
fi
{ head_ini; printf '[job a]\nmodel = describe\nitems = pex1\nseed = 4 ; a comment?\n'; } >"$WORK/seed.ini"
expect_exit 2 "a ';' after a number is not silently dropped" -- "$CXFIT" check "$WORK/seed.ini"
expect_stderr "seed.ini:7: job 'a', key 'seed'" "names the key"
expect_stderr "';' does not start a comment after a value; use '#'" "says how to comment"

# ---- item 12: BOM, CRLF, long lines -------------------------------------------
items="pex1 pex2 pex3 pex4 pex5 out1 out2 out3 out4 out5 mot1 mot2 mot3 mot4 mot5 pom1 pom2 pom3 pom4 pom5 sat ltr exp_web exp_call exp_store"
long=""
for _ in $(seq 40); do long="$long $items"; done # about 6,000 characters
where="pex1 >= 0"
for i in $(seq 700); do where="$where and pex2 != $((100 + i))"; done # about 10,000
printf '\xef\xbb\xbf[data]\r\nfile = d.h5\r\ntable = /responses\r\n[job wide]\r\nmodel = describe\r\nitems = %s\r\n[job long]\r\nmodel = describe\r\nitems =%s\r\nwhere = %s\r\n' \
    "$items" "$long" "$where" >"$WORK/bom.ini"
[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$WORK/bom.ini")" -gt 9000 ] &&
    ok "config has a line over 9,000 characters" || fail "test config lines too short"
expect_exit 0 "check a BOM + CRLF config with long lines" -- "$CXFIT" check "$WORK/bom.ini"
expect_exit 0 "run it" -- "$CXFIT" run "$WORK/bom.ini" -o "$WORK/bom.h5"
n=$(h5dump -d /wide/items/item "$WORK/bom.h5" 2>/dev/null | grep -o '"[a-z_0-9]*"' | wc -l)
[ "$n" -eq 25 ] && ok "all 25 items of the long line described" || fail "described $n items, expected 25"
finish
