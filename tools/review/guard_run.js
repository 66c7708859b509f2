// Runs the AWS Control Tower proactive controls of cdk-validator-cfnguard over templates.
//
// Usage: node review/guard_run.js <extracted package dir> <template.json>...
// Prints the plugin's report ({success, violations: [{ruleName, description, fix,
// violatingResources: [{resourceLogicalId, templatePath, locations}]}]}) as JSON. The plugin's
// own code reads cfn-guard's JSON output; review/guard.py maps the resources to construct
// paths and applies the app's acknowledgements, as synth did when the plugin ran inside it.
'use strict';

const path = require('path');

const [packageDir, ...templatePaths] = process.argv.slice(2);
if (!packageDir || templatePaths.length === 0) {
  process.stderr.write('usage: node guard_run.js <package dir> <template.json>...\n');
  process.exit(2);
}
const { CfnGuardValidator } = require(path.join(packageDir, 'lib', 'plugin.js'));
const validator = new CfnGuardValidator({ controlTowerRulesEnabled: true, maxBuffer: 256 * 1024 * 1024 });
process.stdout.write(JSON.stringify(validator.validate({ templatePaths })));
