#!/bin/sh
# Re-create src/daguerre/web/static/vendor/ from the npm registry packages (no CDN at run time).
set -eu
DEST="$(cd "$(dirname "$0")/.." && pwd)/src/daguerre/web/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent htmx.org@2.0.11 openseadragon@6.1.1 img-comparison-slider@8.0.7 swagger-ui-dist@5.35.0 >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
rm -rf "$DEST" && mkdir -p "$DEST/htmx" "$DEST/openseadragon" "$DEST/img-comparison-slider" "$DEST/swagger-ui"
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
# /docs (the API's page): the bundle and its CSS only (no source maps, no ES builds: 12 MB unpacked), with the
# package's licence, its notice and the licences of what the bundle contains; the favicon, so nothing is fetched
(cd swagger-ui-dist-5.35.0/package && cp swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css \
   favicon-32x32.png LICENSE NOTICE "$DEST/swagger-ui/")
echo "vendored into $DEST"
