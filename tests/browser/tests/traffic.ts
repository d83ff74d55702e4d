// Counts the calls a page (or a whole browser context) makes to patient-auth, and its answers.
import type { BrowserContext, Page } from "@playwright/test";
import { env } from "./env";

export interface Traffic {
  /** Requests sent to `METHOD /path`, e.g. "POST /auth/refresh". */
  requests(route: string): number;
  /** Answers to `METHOD /path` with this status. */
  answers(route: string, status: number): number;
}

export function watchApi(target: Page | BrowserContext): Traffic {
  const sent: string[] = [];
  const answered: string[] = [];
  const route = (method: string, url: string): string | null =>
    url.startsWith(env.apiUrl) ? `${method} ${new URL(url).pathname}` : null;
  target.on("request", (request) => {
    const key = route(request.method(), request.url());
    if (key) sent.push(key);
  });
  target.on("response", (response) => {
    const key = route(response.request().method(), response.url());
    if (key) answered.push(`${key} ${response.status()}`);
  });
  return {
    requests: (name) => sent.filter((key) => key === name).length,
    answers: (name, status) => answered.filter((key) => key === `${name} ${status}`).length,
  };
}
