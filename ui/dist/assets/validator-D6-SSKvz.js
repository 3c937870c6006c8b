import{S as i}from"./index-BdKFCjJu.js";const n=o=>["",...i].includes(o);export{n as i};
