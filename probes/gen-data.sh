#!/bin/sh
# Builds the C copy of the vendor data files: gen-data.sh FILE... > data-builtin.c
set -eu
echo '/* Generated from probes/data/ by probes/gen-data.sh: edit the data files, not this. */'
echo '#include <stddef.h>'
echo 'struct gpv_builtin_data { const char *name; const char *text; };'
echo 'extern const struct gpv_builtin_data gpv_builtin_data[];'
echo 'const struct gpv_builtin_data gpv_builtin_data[] = {'
for f in "$@"; do
	printf '\t{ "%s",\n' "$(basename "$f")"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
echo '	{ NULL, NULL },'
echo '};'
