// Turns a synthesized stack into the files of a standard Terraform module layout.
'use strict';

/** Drops cdktf's "//" metadata, which holds construct paths and the cdktf version. */
function withoutMetadata(value) {
  if (Array.isArray(value)) return value.map(withoutMetadata);
  if (value === null || typeof value !== 'object') return value;
  const result = {};
  for (const key of Object.keys(value).sort()) {
    if (key === '//') continue;
    result[key] = withoutMetadata(value[key]);
  }
  return result;
}

function render(json) {
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** { 'main.tf.json': ..., 'variables.tf.json': ..., 'outputs.tf.json': ..., 'versions.tf.json': ... } */
function splitModule(synthesized) {
  const clean = withoutMetadata(synthesized);
  const { variable, output, terraform, ...rest } = clean;
  const files = {
    'versions.tf.json': render({ terraform }),
    'variables.tf.json': render({ variable }),
    'outputs.tf.json': render({ output }),
    'main.tf.json': render(rest),
  };
  return files;
}

module.exports = { splitModule, withoutMetadata };
