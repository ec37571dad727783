/**
 * scripts/apt-install.sh, the install step shared by `npm test`'s and `npm run bench`'s set-up,
 * with a stand-in `apt-get` on PATH: every package on this host is installed already, so the real
 * install path would otherwise never run here, and a fresh machine is where it matters.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(import.meta.dirname, 'apt-install.sh');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apt-install-'));
  // Logs its arguments and whether the services were blocked at that moment, then exits with
  // $FAKE_APT_EXIT for the call named in $FAKE_APT_FAIL_ON.
  await writeFile(
    join(dir, 'apt-get'),
    `#!/bin/sh
if [ -x "$APT_INSTALL_POLICY" ]; then blocked=$("$APT_INSTALL_POLICY"; echo $?); else blocked=none; fi
echo "$* policy=$blocked" >> "${dir}/apt.log"
[ "$1" = "\${FAKE_APT_FAIL_ON:-}" ] && exit 100
exit 0
`,
  );
  await chmod(join(dir, 'apt-get'), 0o755);
  // The install path runs as root on a fresh machine; the test may not (a developer's account).
  await writeFile(join(dir, 'id'), '#!/bin/sh\necho 0\n');
  await chmod(join(dir, 'id'), 0o755);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(failOn = ''): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    'bash',
    ['-c', `set -euo pipefail; source "${SCRIPT}"; apt_install demo pkg-a pkg-b; echo after`],
    {
      env: {
        ...process.env,
        PATH: `${dir}:${process.env.PATH ?? ''}`,
        APT_INSTALL_POLICY: join(dir, 'policy-rc.d'),
        FAKE_APT_FAIL_ON: failOn,
      },
      encoding: 'utf8',
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('apt_install', () => {
  it('installs with services blocked (policy-rc.d exits 101) and removes the policy it created', async () => {
    const { status, stdout } = run();
    expect(status).toBe(0);
    expect(stdout).toContain('demo: installing pkg-a pkg-b (apt-get)');
    expect(stdout).toContain('after');
    expect((await readFile(join(dir, 'apt.log'), 'utf8')).trim().split('\n')).toEqual([
      'update -qq policy=101',
      'install -y -qq --no-install-recommends pkg-a pkg-b policy=101',
    ]);
    expect(await exists(join(dir, 'policy-rc.d'))).toBe(false);
  });

  it('leaves an existing policy-rc.d alone', async () => {
    await writeFile(join(dir, 'policy-rc.d'), '#!/bin/sh\nexit 101\n');
    await chmod(join(dir, 'policy-rc.d'), 0o755);
    expect(run().status).toBe(0);
    expect(await exists(join(dir, 'policy-rc.d'))).toBe(true);
  });

  it('fails when apt-get fails, and still removes the policy it created', async () => {
    const { status, stdout } = run('install');
    expect(status).not.toBe(0);
    expect(stdout).not.toContain('after');
    expect(await exists(join(dir, 'policy-rc.d'))).toBe(false);
  });
});
