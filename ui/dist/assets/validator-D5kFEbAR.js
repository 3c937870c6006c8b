import{S as i}from"./index-CWRQb9Cn.js";const n=o=>["",...i].includes(o);export{n as i};
