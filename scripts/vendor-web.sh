#!/bin/sh
# Re-create src/daguerre/web/static/vendor/ from the npm registry packages (no CDN at run time).
set -eu
DEST="$(cd "$(dirname "$0")/.." && pwd)/src/daguerre/web/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent htmx.org@2.0.11 openseadragon@6.1.1 img-comparison-slider@8.0.7 >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
rm -rf "$DEST" && mkdir -p "$DEST/htmx" "$DEST/openseadragon" "$DEST/img-comparison-slider"
cp htmx.org-2.0.11/package/dist/htmx.min.js htmx.org-2.0.11/package/LICENSE "$DEST/htmx/"
cp openseadragon-6.1.1/package/build/openseadragon/openseadragon.min.js "$DEST/openseadragon/"
cp -r openseadragon-6.1.1/package/build/openseadragon/images "$DEST/openseadragon/"
cp openseadragon-6.1.1/package/LICENSE.txt "$DEST/openseadragon/LICENSE.txt"
cp img-comparison-slider-8.0.7/package/dist/index.js img-comparison-slider-8.0.7/package/dist/styles.css \
   "$DEST/img-comparison-slider/"
# The package ships no licence file; its package.json says MIT (author and year from its README).
node -e 'const p=require("./img-comparison-slider-8.0.7/package/package.json");
console.log(`img-comparison-slider ${p.version}: licence ${p.license} (package.json, no licence file in the package).\nSource: ${JSON.stringify(p.repository)}`)' \
   > "$DEST/img-comparison-slider/LICENSE"
echo "vendored into $DEST"
