// The registry module: `npm run build` synthesizes this app and writes the stack to
// dist/terraform-aws-ssh-bastion-service/ (scripts/build.js). The deployable CDKTF example is
// examples/cdktf/.
import { App } from 'cdktf';
import { SshBastionModuleStack } from './src';

/** The stack name of the registry module; the build copies it to dist/<name>/. */
export const MODULE_STACK = 'terraform-aws-ssh-bastion-service';

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });
new SshBastionModuleStack(app, MODULE_STACK);
app.synth();
