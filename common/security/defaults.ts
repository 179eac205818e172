/**
 * Who a task runs as when it names no user: the same word for the master's ACL check
 * (`run_tasks` asks for this user) and the agent's process containerizer (which runs it so).
 */
export const DEFAULT_TASK_USER = 'nobody';
