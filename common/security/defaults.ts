/**
 * Who a task runs as when it names no user: the same word for the master's ACL check
 * (`run_tasks` asks for this user) and the agent's process containerizer (which runs it so).
 */
export const DEFAULT_TASK_USER = 'nobody';

/**
 * The same user for Docker tasks, by number: an image need not have a passwd file, and
 * many images' own user is root, which the ACLs would never have been asked about.
 */
export const DEFAULT_DOCKER_USER = '65534:65534';
