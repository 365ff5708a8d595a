// SPDX-License-Identifier: MIT
// api.js - the calls the app makes to userapid, with fetch and the
// session cookie (HttpOnly: this code never sees it).  Nothing here keeps
// a token: a login's answer is read for the email and role only.

export class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
        super(message);
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }
}

async function call(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(path, init);
    } catch (e) {
        throw new ApiError(0, 'network', 'The server cannot be reached.', null);
    }
    let data = null;
    if (method !== 'HEAD' && res.status !== 204) {
        const text = await res.text();
        if (text !== '') {
            try {
                data = JSON.parse(text);
            } catch (e) {
                data = null;
            }
        }
    }
    if (!res.ok && res.status !== 308) {
        const retry = res.headers.get('Retry-After');
        throw new ApiError(res.status, data && data.error ? data.error : '',
            data && data.message ? data.message : res.statusText,
            retry !== null && /^[0-9]+$/.test(retry) ? Number(retry) : null);
    }
    return { status: res.status, data, headers: res.headers };
}

const userPath = (email) => '/users/' + encodeURIComponent(email);

export async function status() {
    const r = await call('HEAD', '/');
    const h = r.headers;
    return {
        workers: h.get('X-Userapid-Workers'),
        uptime: Number(h.get('X-Userapid-Uptime')),
        users: h.get('X-Userapid-Users'),
        version: h.get('X-Userapid-Version'),
        state: h.get('X-Userapid-Status'),
    };
}

export async function login(email, password) {
    const r = await call('POST', '/', { email, password });
    return { email: r.data.email, role: r.data.role };
}

export const register = (email, password) => call('PUT', '/', { email, password });
export const createUser = (email, password, role) =>
    call('PUT', '/', { email, password, role });
export const logout = () => call('DELETE', '/session');
export const logoutEverywhere = () => call('DELETE', '/sessions');
export const session = async () => (await call('GET', '/session')).data;
export const sessions = async () => (await call('GET', '/sessions')).data.sessions;
export const endSession = (id) => call('DELETE', '/sessions/' + encodeURIComponent(id));
export const changeOwnPassword = (email, current, password) =>
    call('PATCH', userPath(email), { current_password: current, password });
export const resetPassword = (email, password) =>
    call('PATCH', userPath(email), { password });
export const setRole = (email, role) => call('PATCH', userPath(email), { role });
export const deleteUser = (email) => call('DELETE', userPath(email));

export async function users(limit, after, q) {
    const p = new URLSearchParams();
    p.set('limit', String(limit));
    if (after) p.set('after', after);
    if (q) p.set('q', q);
    return (await call('GET', '/?' + p.toString())).data;
}
