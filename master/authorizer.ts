/**
 * The ACLs (common/security/acl.ts) as the master core's Authorizer: a refusal becomes a
 * CallError PERMISSION_DENIED in the ACLs' own words (principal, action, object, rule), and a
 * launch is checked for its user, privileges, host network and host paths. The ACLs are read
 * on every call, so an edited acls.json applies to the next call without a restart.
 */
import { ALL, check, PermissionDenied, type Acls } from '../common/security/acl';
import { launchRefusal } from '../common/security/container-policy';
import type { Principal } from '../common/security/credentials';
import { DEFAULT_TASK_USER } from '../common/security/defaults';
import type { TaskInfo } from '../common/types';
import { CallError } from './errors';
import type { Authorizer } from './ports';

export function aclAuthorizer(acls: () => Acls): Authorizer {
  return {
    check(action, principal, object) {
      try {
        check(acls(), action, principal, object ?? ALL);
      } catch (err) {
        if (err instanceof PermissionDenied) throw new CallError('PERMISSION_DENIED', err.message);
        throw err;
      }
    },
    launchRefusal(principal: Principal, task: TaskInfo) {
      return launchRefusal(acls(), principal, task, DEFAULT_TASK_USER)?.message;
    },
  };
}
